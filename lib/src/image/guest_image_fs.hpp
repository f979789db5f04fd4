// ImageFs on a libguestfs handle whose appliance has the image mounted.
#pragma once

#include "image/guestfs_handle.hpp"
#include "pimint/image/image_fs.hpp"

#include <functional>
#include <set>
#include <string>

namespace pimint {

class GuestImageFs final : public ImageFs {
public:
    // `image` names the image file in error messages.
    GuestImageFs(GuestfsHandle& handle, std::string image)
        : g_(handle)
        , image_(std::move(image)) {}

    std::string read(const std::string& path) override;
    void write(const std::string& path, const std::string& content) override;
    void append(const std::string& path, const std::string& content) override;
    void mkdir_p(const std::string& path) override;
    void chmod(const std::string& path, std::uint32_t mode) override;
    void chown(const std::string& path, std::uint32_t uid, std::uint32_t gid) override;
    void symlink(const std::string& target, const std::string& link) override;
    std::string readlink(const std::string& path) override;
    void remove(const std::string& path) override;
    void tar_in(const std::filesystem::path& tarball, const std::string& dir) override;
    void tar_out(const std::string& dir, const std::filesystem::path& tarball) override;
    bool exists(const std::string& path) override;
    std::optional<FileStat> stat(const std::string& path) override;
    std::vector<std::string> list(const std::string& dir) override;
    SpaceInfo space(const std::string& path) override;

    // Has `mount` called before the first use of a path at or below `mount_point` (or of
    // a directory above it, with what it holds): the boot partition is mounted only for
    // the edits that touch it. A node's own edits never do, and under emulation each
    // mount and unmount costs a tenth of a second.
    void defer_mount(const std::string& mount_point, std::function<void()> mount);
    // Makes the deferred mount now, if it is still pending.
    void mount_deferred();
    // Before unmounting, with the mount still deferred: throws when its mount point
    // changed, as when a write reached it through a symbolic link: the partition,
    // mounted there at boot, would hide what was written.
    void check_deferred_mount_point();

    // Every path written, created, removed or unpacked through this object, with the
    // directories above it (whose mtimes such changes move), for Appliance::clamp_mtimes.
    const std::set<std::string>& touched() const { return touched_; }

private:
    void check(int rc, const std::string& op, const std::string& path) const;
    void note_touched(const std::string& path);
    // check_image_path(), then the deferred mount when `path` needs it.
    void use(const std::string& path);
    void mount_if_under(const std::string& path, bool recursive);

    GuestfsHandle& g_;
    std::string image_;
    std::set<std::string> touched_;
    std::string deferred_point_;
    std::function<void()> deferred_mount_; // empty once mounted, or when none is deferred
    size_t deferred_entries_ = 0;          // in deferred_point_ when it was deferred
};

} // namespace pimint
