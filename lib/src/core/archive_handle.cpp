#include "core/archive_handle.hpp"

#include "pimint/core/error.hpp"

#include <vector>

namespace pimint {

void archive_fail(archive* a, const std::filesystem::path& path, const std::string& what) {
    const char* message = archive_error_string(a);
    throw Error(ErrorCategory::io, path.string(),
                what + ": " + (message != nullptr ? message : "libarchive error"));
}

namespace {

ReadArchive new_reader() {
    ReadArchive a(archive_read_new());
    archive_read_support_filter_all(a.get());
    archive_read_support_format_all(a.get());
    return a;
}

} // namespace

ReadArchive open_archive(const std::filesystem::path& path) {
    ReadArchive a = new_reader();
    if (archive_read_open_filename(a.get(), path.c_str(), 1 << 16) != ARCHIVE_OK) {
        archive_fail(a.get(), path, "cannot open the archive");
    }
    return a;
}

ReadArchive open_archive_in_memory(const std::string& bytes, const std::filesystem::path& name) {
    ReadArchive a = new_reader();
    if (archive_read_open_memory(a.get(), bytes.data(), bytes.size()) != ARCHIVE_OK) {
        archive_fail(a.get(), name, "cannot open the archive");
    }
    return a;
}

bool next_entry(archive* in, archive_entry** entry, const std::filesystem::path& path) {
    const int r = archive_read_next_header(in, entry);
    if (r == ARCHIVE_EOF) {
        return false;
    }
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
        archive_fail(in, path, "the archive is damaged");
    }
    return true;
}

void copy_entry_data(archive* in, archive* out, const std::filesystem::path& path,
                     const BlockSeen& seen) {
    std::vector<char> buffer(1 << 16);
    for (;;) {
        const la_ssize_t n = archive_read_data(in, buffer.data(), buffer.size());
        if (n == 0) {
            return;
        }
        if (n < 0) {
            archive_fail(in, path, "the archive is damaged");
        }
        if (seen) {
            seen(buffer.data(), static_cast<size_t>(n));
        }
        if (archive_write_data(out, buffer.data(), static_cast<size_t>(n)) < 0) {
            archive_fail(out, path, "writing the archive failed");
        }
    }
}

std::string read_entry_data(archive* in, const std::filesystem::path& path) {
    std::string data;
    std::vector<char> buffer(1 << 16);
    for (;;) {
        const la_ssize_t n = archive_read_data(in, buffer.data(), buffer.size());
        if (n == 0) {
            return data;
        }
        if (n < 0) {
            archive_fail(in, path, "the archive is damaged");
        }
        data.append(buffer.data(), static_cast<size_t>(n));
    }
}

} // namespace pimint
