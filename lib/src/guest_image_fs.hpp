// ImageFs on a libguestfs handle whose appliance has the image mounted.
#pragma once

#include "guestfs_handle.hpp"
#include "pimint/image_fs.hpp"

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

    // Every path written, created, removed or unpacked through this object, with the
    // directories above it (whose mtimes such changes move), for Appliance::clamp_mtimes.
    const std::set<std::string>& touched() const { return touched_; }

private:
    void check(int rc, const std::string& op, const std::string& path) const;
    void note_touched(const std::string& path);

    GuestfsHandle& g_;
    std::string image_;
    std::set<std::string> touched_;
};

} // namespace pimint
