#include "guest_image_fs.hpp"

#include "archive_tree.hpp"
#include "pimint/error.hpp"

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

std::string GuestImageFs::read(const std::string& path) {
    check_image_path(path);
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
    check_image_path(path);
    note_touched(path);
    check(guestfs_write(g_.get(), path.c_str(), content.data(), content.size()), "writing", path);
}

void GuestImageFs::append(const std::string& path, const std::string& content) {
    check_image_path(path);
    note_touched(path);
    check(guestfs_write_append(g_.get(), path.c_str(), content.data(), content.size()), "appending",
          path);
}

void GuestImageFs::mkdir_p(const std::string& path) {
    check_image_path(path);
    note_touched(path);
    check(guestfs_mkdir_p(g_.get(), path.c_str()), "creating the directory", path);
}

void GuestImageFs::chmod(const std::string& path, std::uint32_t mode) {
    check_image_path(path);
    check(guestfs_chmod(g_.get(), static_cast<int>(mode), path.c_str()), "chmod", path);
}

void GuestImageFs::chown(const std::string& path, std::uint32_t uid, std::uint32_t gid) {
    check_image_path(path);
    check(guestfs_lchown(g_.get(), static_cast<int>(uid), static_cast<int>(gid), path.c_str()),
          "chown", path);
}

void GuestImageFs::symlink(const std::string& target, const std::string& link) {
    check_image_path(link);
    note_touched(link);
    check(guestfs_ln_sf(g_.get(), target.c_str(), link.c_str()), "creating the symlink", link);
}

std::string GuestImageFs::readlink(const std::string& path) {
    check_image_path(path);
    char* target = guestfs_readlink(g_.get(), path.c_str());
    check(target == nullptr ? -1 : 0, "readlink", path);
    return take_string(target);
}

void GuestImageFs::remove(const std::string& path) {
    check_image_path(path);
    note_touched(path);
    check(guestfs_rm_f(g_.get(), path.c_str()), "removing", path);
}

void GuestImageFs::tar_in(const std::filesystem::path& tarball, const std::string& dir) {
    check_image_path(dir);
    for (const auto& name : archive_entry_names(tarball)) {
        note_touched((std::filesystem::path(dir) / name).string());
    }
    check(guestfs_tar_in(g_.get(), tarball.c_str(), dir.c_str()), "unpacking an archive into", dir);
}

void GuestImageFs::tar_out(const std::string& dir, const std::filesystem::path& tarball) {
    check_image_path(dir);
    check(guestfs_tar_out_opts(g_.get(), dir.c_str(), tarball.c_str(),
                               GUESTFS_TAR_OUT_OPTS_NUMERICOWNER, 1, -1),
          "packing", dir);
}

bool GuestImageFs::exists(const std::string& path) {
    check_image_path(path);
    const int rc = guestfs_exists(g_.get(), path.c_str());
    check(rc, "checking", path);
    return rc == 1;
}

std::optional<FileStat> GuestImageFs::stat(const std::string& path) {
    check_image_path(path);
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
    check_image_path(dir);
    char** names = guestfs_ls(g_.get(), dir.c_str());
    check(names == nullptr ? -1 : 0, "listing", dir);
    return take_string_list(names);
}

SpaceInfo GuestImageFs::space(const std::string& path) {
    check_image_path(path);
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
