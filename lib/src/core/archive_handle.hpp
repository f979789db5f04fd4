// Owning handles for libarchive readers and writers, shared by everything that reads or
// writes archives (trees, source tarballs, Debian packages), with one way to report their
// errors.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

namespace pimint {

struct ArchiveReadDeleter {
    void operator()(archive* a) const { archive_read_free(a); }
};
struct ArchiveWriteDeleter {
    void operator()(archive* a) const { archive_write_free(a); }
};
using ReadArchive = std::unique_ptr<archive, ArchiveReadDeleter>;
using WriteArchive = std::unique_ptr<archive, ArchiveWriteDeleter>;

// Throws Error(io) naming `path`, with `what` and libarchive's own message.
[[noreturn]] void archive_fail(archive* a, const std::filesystem::path& path,
                               const std::string& what);

// Opens any archive libarchive reads (every format and compression) for reading.
ReadArchive open_archive(const std::filesystem::path& path);

// The same for an archive held in memory (a member of another archive); `bytes` must
// outlive the reader. `name` is used in errors.
ReadArchive open_archive_in_memory(const std::string& bytes, const std::filesystem::path& name);

// Moves `in` to its next entry: false at the end. Throws Error(io) naming `path` when the
// archive is damaged (libarchive's warnings, such as an unknown header field, are not).
bool next_entry(archive* in, archive_entry** entry, const std::filesystem::path& path);

// Copies the data of the entry `in` is positioned at into the entry just written to
// `out` (an archive writer), showing each block to `seen` when given.
using BlockSeen = std::function<void(const char* data, std::size_t size)>;
void copy_entry_data(archive* in, archive* out, const std::filesystem::path& path,
                     const BlockSeen& seen = {});

// Reads the data of the entry `in` is positioned at.
std::string read_entry_data(archive* in, const std::filesystem::path& path);

} // namespace pimint
