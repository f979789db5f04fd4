#include "image/guest_image_fs.hpp"

#include "core/archive_tree.hpp"
#include "pimint/core/error.hpp"

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <fmt/format.h>
#include <sys/stat.h>

namespace pimint {

void GuestImageFs::check(int rc, const std::string& op, const std::string& path) const {
    if (rc != -1) {
        return;
    }
    const int err = g_.last_errno();
    const std::string context = fmt::format("{}:{}", image_, path);
    if (err == ENOSPC) {
        throw Error(ErrorCategory::image, context,
                    fmt::format("{} failed: the image's filesystem is full (grow the image "
                                "or free space in it)",
                                op));
    }
    throw Error(ErrorCategory::appliance, context,
                fmt::format("{} failed: {}", op, g_.last_error()));
}

void GuestImageFs::note_touched(const std::string& path) {
    std::filesystem::path p = std::filesystem::path(path).lexically_normal();
    if (p.has_filename() == false && p != "/") {
        p = p.parent_path();
    }
    while (touched_.insert(p.string()).second && p != p.root_path()) {
        p = p.parent_path();
    }
}

void GuestImageFs::defer_mount(const std::string& mount_point, std::function<void()> mount) {
    deferred_point_ = std::filesystem::path(mount_point).lexically_normal().string();
    deferred_entries_ = list(deferred_point_).size();
    deferred_mount_ = std::move(mount);
}

void GuestImageFs::mount_deferred() {
    if (deferred_mount_) {
        auto mount = std::move(deferred_mount_);
        deferred_mount_ = nullptr;
        mount();
    }
}

void GuestImageFs::mount_if_under(const std::string& path, bool recursive) {
    if (!deferred_mount_) {
        return;
    }
    const std::string p = std::filesystem::path(path).lexically_normal().string();
    const auto below = [](const std::string& inner, const std::string& outer) {
        return inner == outer || outer == "/" ||
               (inner.size() > outer.size() && inner.starts_with(outer) &&
                inner[outer.size()] == '/');
    };
    if (below(p, deferred_point_) || (recursive && below(deferred_point_, p))) {
        mount_deferred();
    }
}

void GuestImageFs::use(const std::string& path) {
    check_image_path(path);
    mount_if_under(path, false);
}

void GuestImageFs::check_deferred_mount_point() {
    if (!deferred_mount_) {
        return;
    }
    auto mount = std::move(deferred_mount_);
    deferred_mount_ = nullptr; // listing the mount point must not mount it
    if (list(deferred_point_).size() != deferred_entries_) {
        throw Error(ErrorCategory::internal, fmt::format("{}:{}", image_, deferred_point_),
                    "a step wrote into the mount point of the unmounted boot partition "
                    "(through a symbolic link?), where the partition would hide it");
    }
    deferred_mount_ = std::move(mount);
}

std::string GuestImageFs::read(const std::string& path) {
    use(path);
    // pread answers in one message; read_file goes through a download to a temporary
    // file, some ten times slower under emulation for the small files read here. Pieces
    // stay well below the protocol's 4 MiB message limit.
    constexpr size_t piece = 2U << 20;
    std::string out;
    for (;;) {
        size_t size = 0;
        char* data = guestfs_pread(g_.get(), path.c_str(), static_cast<int>(piece),
                                   static_cast<std::int64_t>(out.size()), &size);
        check(data == nullptr ? -1 : 0, "reading", path);
        out.append(data, size);
        std::free(data);
        if (size < piece) {
            return out;
        }
    }
}

void GuestImageFs::write(const std::string& path, const std::string& content) {
    use(path);
    note_touched(path);
    check(guestfs_write(g_.get(), path.c_str(), content.data(), content.size()), "writing", path);
}

void GuestImageFs::append(const std::string& path, const std::string& content) {
    use(path);
    note_touched(path);
    check(guestfs_write_append(g_.get(), path.c_str(), content.data(), content.size()), "appending",
          path);
}

void GuestImageFs::mkdir_p(const std::string& path) {
    use(path);
    note_touched(path);
    check(guestfs_mkdir_p(g_.get(), path.c_str()), "creating the directory", path);
}

void GuestImageFs::chmod(const std::string& path, std::uint32_t mode) {
    use(path);
    check(guestfs_chmod(g_.get(), static_cast<int>(mode), path.c_str()), "chmod", path);
}

void GuestImageFs::chown(const std::string& path, std::uint32_t uid, std::uint32_t gid) {
    use(path);
    check(guestfs_lchown(g_.get(), static_cast<int>(uid), static_cast<int>(gid), path.c_str()),
          "chown", path);
}

void GuestImageFs::symlink(const std::string& target, const std::string& link) {
    use(link);
    note_touched(link);
    check(guestfs_ln_sf(g_.get(), target.c_str(), link.c_str()), "creating the symlink", link);
}

std::string GuestImageFs::readlink(const std::string& path) {
    use(path);
    char* target = guestfs_readlink(g_.get(), path.c_str());
    check(target == nullptr ? -1 : 0, "readlink", path);
    return take_string(target);
}

void GuestImageFs::remove(const std::string& path) {
    use(path);
    note_touched(path);
    check(guestfs_rm_f(g_.get(), path.c_str()), "removing", path);
}

void GuestImageFs::tar_in(const std::filesystem::path& tarball, const std::string& dir) {
    use(dir);
    for (const auto& name : archive_entry_names(tarball)) {
        const std::string path = (std::filesystem::path(dir) / name).lexically_normal().string();
        mount_if_under(path, false);
        note_touched(path);
    }
    check(guestfs_tar_in(g_.get(), tarball.c_str(), dir.c_str()), "unpacking an archive into", dir);
}

void GuestImageFs::tar_out(const std::string& dir, const std::filesystem::path& tarball) {
    use(dir);
    mount_if_under(dir, true);
    check(guestfs_tar_out_opts(g_.get(), dir.c_str(), tarball.c_str(),
                               GUESTFS_TAR_OUT_OPTS_NUMERICOWNER, 1, -1),
          "packing", dir);
}

bool GuestImageFs::exists(const std::string& path) {
    use(path);
    const int rc = guestfs_exists(g_.get(), path.c_str());
    check(rc, "checking", path);
    return rc == 1;
}

std::optional<FileStat> GuestImageFs::stat(const std::string& path) {
    use(path);
    // lstatns fails for a missing path; ask for the parent's listing rather than
    // parsing error strings.
    const std::filesystem::path p(path);
    if (p != "/") {
        const int parent_is_dir = guestfs_is_dir_opts(g_.get(), p.parent_path().c_str(),
                                                      GUESTFS_IS_DIR_OPTS_FOLLOWSYMLINKS, 1, -1);
        check(parent_is_dir, "checking", p.parent_path().string());
        if (parent_is_dir == 0) {
            return std::nullopt;
        }
        bool found = false;
        for (const auto& name : list(p.parent_path().string())) {
            if (name == p.filename().string()) {
                found = true;
                break;
            }
        }
        if (!found) {
            return std::nullopt;
        }
    }
    struct guestfs_statns* st = guestfs_lstatns(g_.get(), path.c_str());
    check(st == nullptr ? -1 : 0, "stat", path);
    FileStat out;
    const auto mode = static_cast<std::uint32_t>(st->st_mode);
    out.type = S_ISREG(mode)   ? FileStat::Type::regular
               : S_ISDIR(mode) ? FileStat::Type::directory
               : S_ISLNK(mode) ? FileStat::Type::symlink
                               : FileStat::Type::other;
    out.mode = mode & 07777;
    out.uid = static_cast<std::uint32_t>(st->st_uid);
    out.gid = static_cast<std::uint32_t>(st->st_gid);
    out.size = static_cast<std::uint64_t>(st->st_size);
    guestfs_free_statns(st);
    return out;
}

std::vector<std::string> GuestImageFs::list(const std::string& dir) {
    use(dir);
    char** names = guestfs_ls(g_.get(), dir.c_str());
    check(names == nullptr ? -1 : 0, "listing", dir);
    return take_string_list(names);
}

SpaceInfo GuestImageFs::space(const std::string& path) {
    use(path);
    struct guestfs_statvfs* st = guestfs_statvfs(g_.get(), path.c_str());
    check(st == nullptr ? -1 : 0, "statvfs", path);
    SpaceInfo out;
    out.total_bytes =
        static_cast<std::uint64_t>(st->blocks) * static_cast<std::uint64_t>(st->frsize);
    out.free_bytes =
        static_cast<std::uint64_t>(st->bavail) * static_cast<std::uint64_t>(st->frsize);
    guestfs_free_statvfs(st);
    return out;
}

} // namespace pimint
