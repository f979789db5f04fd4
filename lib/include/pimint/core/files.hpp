// Host-side file operations on image files: fast sparse copies, outputs that appear
// under their final name only when complete, and content hashes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace pimint {

struct CopyStats {
    enum class Method { reflink, copy_file_range, read_write };
    Method method = Method::read_write;
    std::uint64_t size = 0;       // apparent size of the copy
    std::uint64_t data_bytes = 0; // bytes actually copied (holes are skipped)
};

// Copies `from` to `to` (created with mode 0600, or truncated), keeping holes: a reflink where the
// filesystem allows it, otherwise only the data extents found with SEEK_DATA/SEEK_HOLE,
// through copy_file_range or, failing that, read/write.
CopyStats sparse_copy(const std::filesystem::path& from, const std::filesystem::path& to);

// Copies `size` bytes of `from` from `from_offset` on into `to` at `to_offset`, as
// sparse_copy does; `to` is created (mode 0600) when missing, never truncated, and
// lengthened to hold the range. Where `from` has holes the range of `to` is left as it
// is: it must read as zeros (a new file, or one made by create_sparse_file).
CopyStats sparse_copy_range(const std::filesystem::path& from, std::uint64_t from_offset,
                            std::uint64_t size, const std::filesystem::path& to,
                            std::uint64_t to_offset);

// Turns `size` bytes of `path` from `offset` on into a hole, freeing their space, where
// the filesystem can; elsewhere leaves them.
void punch_hole(const std::filesystem::path& path, std::uint64_t offset, std::uint64_t size);

// Creates `path` (mode 0600, or truncates it) as `size` bytes of hole: a file of its final
// size, to be filled later.
void create_sparse_file(const std::filesystem::path& path, std::uintmax_t size);

// A file written under a temporary name in the final directory and renamed into place by
// commit(), after an fsync. Destroying an uncommitted AtomicOutput removes the temporary,
// so an error or exception never leaves a half-written file under the final name.
class AtomicOutput {
public:
    explicit AtomicOutput(std::filesystem::path final_path);
    ~AtomicOutput();
    AtomicOutput(const AtomicOutput&) = delete;
    AtomicOutput& operator=(const AtomicOutput&) = delete;

    const std::filesystem::path& temp_path() const noexcept { return temp_; }
    const std::filesystem::path& final_path() const noexcept { return final_; }
    void commit();

    // Prefix of every temporary name, so a later run can find the stale ones.
    static constexpr const char* temp_prefix = ".pimint-tmp.";

private:
    std::filesystem::path final_;
    std::filesystem::path temp_;
    bool committed_ = false;
};

// Writes `content` to `path` through an AtomicOutput; the file is created with `mode`
// from the start (0600 for private keys), never wider for a moment.
void write_file_atomically(const std::filesystem::path& path, const std::string& content,
                           std::uint32_t mode = 0644);

// Lower-case hex SHA-256 of a file's content, and of a string.
std::string sha256_file(const std::filesystem::path& path);
std::string sha256_text(const std::string& text);

// SHA-256 fed piece by piece.
class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void update(const void* data, std::size_t size);
    // The lower-case hex digest; the object is then spent.
    std::string hex();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The byte ranges [start, end) of a file that hold data, in order, as SEEK_DATA and
// SEEK_HOLE report them: everything outside them reads as zeros.
struct Extent {
    std::uint64_t start = 0;
    std::uint64_t end = 0;
};
std::vector<Extent> data_extents(const std::filesystem::path& path);

} // namespace pimint
