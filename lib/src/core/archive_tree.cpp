#include "core/archive_tree.hpp"

#include "core/archive_handle.hpp"
#include "core/file_handle.hpp"
#include "pimint/core/error.hpp"

#include <algorithm>
#include <archive_entry.h>
#include <memory>
#include <unistd.h>
#include <vector>

namespace pimint {
namespace {

// Copies the data of the current entry of `in` to `out` (an archive or disk writer).
void copy_data(archive* in, archive* out, const std::filesystem::path& path) {
    const void* buffer = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    for (;;) {
        const int r = archive_read_data_block(in, &buffer, &size, &offset);
        if (r == ARCHIVE_EOF) {
            return;
        }
        if (r != ARCHIVE_OK) {
            archive_fail(in, path, "reading the archive failed");
        }
        if (archive_write_data_block(out, buffer, size, offset) != ARCHIVE_OK) {
            archive_fail(out, path, "writing failed");
        }
    }
}

} // namespace

void extract_archive(const std::filesystem::path& archive_path, const std::filesystem::path& dest) {
    ReadArchive in = open_archive(archive_path);
    WriteArchive out(archive_write_disk_new());
    // Entry names are checked below and then made absolute under `dest`, so libarchive's
    // own no-absolute-paths guard cannot be used; its '..' and symlink guards still are.
    // As root, owners are restored too (as tar does).
    archive_write_disk_set_options(out.get(), ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
                                                  ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                                  ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                                  (::geteuid() == 0 ? ARCHIVE_EXTRACT_OWNER : 0));
    std::filesystem::create_directories(dest);
    archive_entry* entry = nullptr;
    while (next_entry(in.get(), &entry, archive_path)) {
        const std::filesystem::path name = archive_entry_pathname(entry);
        if (name.is_absolute() || std::find(name.begin(), name.end(), "..") != name.end()) {
            throw Error(ErrorCategory::io, archive_path.string(),
                        "refusing the entry '" + name.string() + "', which would land outside " +
                            dest.string());
        }
        const std::filesystem::path target = dest / name;
        archive_entry_set_pathname(entry, target.c_str());
        if (const char* hardlink = archive_entry_hardlink(entry)) {
            const std::filesystem::path link = hardlink;
            if (link.is_absolute() || std::find(link.begin(), link.end(), "..") != link.end()) {
                throw Error(ErrorCategory::io, archive_path.string(),
                            "refusing the hard link '" + link.string() +
                                "', which would reach outside " + dest.string());
            }
            archive_entry_set_hardlink(entry, (dest / link).c_str());
        }
        if (archive_write_header(out.get(), entry) != ARCHIVE_OK) {
            archive_fail(out.get(), target, "cannot unpack");
        }
        if (archive_entry_size(entry) > 0) {
            copy_data(in.get(), out.get(), archive_path);
        }
        if (archive_write_finish_entry(out.get()) != ARCHIVE_OK) {
            archive_fail(out.get(), target, "cannot finish unpacking");
        }
    }
}

void pack_tree(const std::filesystem::path& root,
               const std::vector<std::filesystem::path>& subtrees,
               const std::filesystem::path& archive_path) {
    WriteArchive out(archive_write_new());
    archive_write_add_filter_gzip(out.get());
    archive_write_set_format_pax_restricted(out.get());
    if (archive_write_open_filename(out.get(), archive_path.c_str()) != ARCHIVE_OK) {
        archive_fail(out.get(), archive_path, "cannot create the archive");
    }
    ReadArchive disk(archive_read_disk_new());
    archive_read_disk_set_symlink_physical(disk.get());
    archive_read_disk_set_standard_lookup(disk.get());
    std::vector<std::filesystem::path> paths;
    for (const auto& subtree : subtrees) {
        paths.push_back(root / subtree);
        for (const auto& e : std::filesystem::recursive_directory_iterator(root / subtree)) {
            paths.push_back(e.path());
        }
    }
    std::sort(paths.begin(), paths.end()); // stable order, parents before children
    std::vector<char> buffer(1 << 16);
    for (const auto& path : paths) {
        std::unique_ptr<archive_entry, decltype(&archive_entry_free)> entry(archive_entry_new(),
                                                                            &archive_entry_free);
        archive_entry_copy_sourcepath(entry.get(), path.c_str());
        if (archive_read_disk_entry_from_file(disk.get(), entry.get(), -1, nullptr) != ARCHIVE_OK) {
            archive_fail(disk.get(), path, "cannot read");
        }
        archive_entry_set_pathname(entry.get(), path.lexically_relative(root).c_str());
        if (archive_write_header(out.get(), entry.get()) != ARCHIVE_OK) {
            archive_fail(out.get(), path, "cannot add to the archive");
        }
        if (archive_entry_filetype(entry.get()) == AE_IFREG) {
            FileHandle f(path, "rb");
            size_t n = 0;
            while ((n = std::fread(buffer.data(), 1, buffer.size(), f.get())) > 0) {
                if (archive_write_data(out.get(), buffer.data(), n) < 0) {
                    archive_fail(out.get(), archive_path, "writing the archive failed");
                }
            }
        }
    }
    if (archive_write_close(out.get()) != ARCHIVE_OK) {
        archive_fail(out.get(), archive_path, "finishing the archive failed");
    }
}

std::vector<std::string> archive_entry_names(const std::filesystem::path& archive_path) {
    ReadArchive in = open_archive(archive_path);
    std::vector<std::string> names;
    archive_entry* entry = nullptr;
    while (next_entry(in.get(), &entry, archive_path)) {
        names.emplace_back(archive_entry_pathname(entry));
    }
    return names;
}

void verify_archive(const std::filesystem::path& archive_path) {
    ReadArchive in = open_archive(archive_path);
    archive_entry* entry = nullptr;
    std::vector<char> buffer(1 << 16);
    while (next_entry(in.get(), &entry, archive_path)) {
        while (true) {
            const la_ssize_t n = archive_read_data(in.get(), buffer.data(), buffer.size());
            if (n == 0) {
                break;
            }
            if (n < 0) {
                archive_fail(in.get(), archive_path, "the archive is damaged");
            }
        }
    }
}

void copy_archive_with_owner(const std::filesystem::path& from, const std::filesystem::path& to,
                             std::uint32_t uid, std::uint32_t gid,
                             std::optional<std::int64_t> newest_mtime) {
    ReadArchive in = open_archive(from);
    WriteArchive out(archive_write_new());
    archive_write_set_format_pax_restricted(out.get());
    if (archive_write_open_filename(out.get(), to.c_str()) != ARCHIVE_OK) {
        archive_fail(out.get(), to, "cannot create the archive");
    }
    archive_entry* entry = nullptr;
    while (next_entry(in.get(), &entry, from)) {
        archive_entry_set_uid(entry, uid);
        archive_entry_set_gid(entry, gid);
        archive_entry_set_uname(entry, nullptr);
        archive_entry_set_gname(entry, nullptr);
        if (newest_mtime && archive_entry_mtime(entry) > *newest_mtime) {
            archive_entry_set_mtime(entry, *newest_mtime, 0);
        }
        if (archive_write_header(out.get(), entry) != ARCHIVE_OK) {
            archive_fail(out.get(), to, "writing the archive failed");
        }
        copy_entry_data(in.get(), out.get(), from);
    }
    if (archive_write_close(out.get()) != ARCHIVE_OK) {
        archive_fail(out.get(), to, "finishing the archive failed");
    }
}

} // namespace pimint
