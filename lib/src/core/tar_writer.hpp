// Writes a tar archive with libarchive, for uploading many files into an image in one
// appliance call (ImageFs::tar_in) with exact modes and owners.
#pragma once

#include "core/file_handle.hpp"

#include <cstdint>
#include <filesystem>
#include <string>

struct archive;

namespace pimint {

struct TarEntryMeta {
    std::uint32_t mode = 0644;
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::int64_t mtime = 0;
};

class TarWriter {
public:
    // The archive file is created with `mode` (0600 for archives of private keys).
    explicit TarWriter(std::filesystem::path path, std::uint32_t mode = 0644);
    ~TarWriter();
    TarWriter(const TarWriter&) = delete;
    TarWriter& operator=(const TarWriter&) = delete;

    void add_file(const std::string& name, const std::string& content, const TarEntryMeta& meta);
    void add_directory(const std::string& name, const TarEntryMeta& meta);
    void add_symlink(const std::string& name, const std::string& target, const TarEntryMeta& meta);
    // Writes the end of the archive; errors are thrown (the destructor cannot).
    void close();

private:
    void add(const std::string& name, unsigned type, const TarEntryMeta& meta,
             const std::string* content, const std::string* target);
    [[noreturn]] void fail(const std::string& what) const;

    std::filesystem::path path_;
    FdHandle fd_; // opened with the mode asked for, before libarchive writes to it
    archive* a_;
};

} // namespace pimint
