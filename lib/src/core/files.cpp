#include "pimint/core/files.hpp"

#include "core/file_handle.hpp"
#include "pimint/core/error.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/fs.h>
#include <memory>
#include <openssl/evp.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace pimint {
namespace {

[[noreturn]] void throw_io(const std::filesystem::path& path, const std::string& what, int err) {
    std::string message = fmt::format("{}: {}", what, std::strerror(err));
    if (err == ENOSPC || err == EDQUOT) {
        message += " (free some space or choose another output directory)";
    }
    throw Error(ErrorCategory::io, path.string(), message);
}

// The copies below write [start, end) of `in` at the same offsets plus `shift` in `out`.
void copy_range_read_write(int in, int out, off_t start, off_t end, off_t shift,
                           const std::filesystem::path& to) {
    std::vector<char> buffer(1 << 20);
    off_t pos = start;
    while (pos < end) {
        const auto want = static_cast<size_t>(std::min<off_t>(end - pos, buffer.size()));
        const ssize_t got = ::pread(in, buffer.data(), want, pos);
        if (got <= 0) {
            throw_io(to, "reading the source failed", got == 0 ? EIO : errno);
        }
        ssize_t done = 0;
        while (done < got) {
            const ssize_t put = ::pwrite(out, buffer.data() + done, got - done, pos + shift + done);
            if (put < 0) {
                throw_io(to, "writing failed", errno);
            }
            done += put;
        }
        pos += got;
    }
}

// Returns false when copy_file_range is not usable between these files.
bool copy_range_in_kernel(int in, int out, off_t start, off_t end, off_t shift,
                          const std::filesystem::path& to) {
    off_t in_pos = start;
    off_t out_pos = start + shift;
    while (in_pos < end) {
        const ssize_t n =
            ::copy_file_range(in, &in_pos, out, &out_pos, static_cast<size_t>(end - in_pos), 0);
        if (n < 0) {
            if ((errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP) &&
                in_pos == start) {
                return false;
            }
            throw_io(to, "copying failed", errno);
        }
        if (n == 0) {
            throw_io(to, "copying failed: the source ended early", EIO);
        }
    }
    return true;
}

// The data extents of `fd` within [start, size), clipped to it.
std::vector<Extent> extents_of(int fd, const std::filesystem::path& path, off_t size,
                               off_t start = 0) {
    std::vector<Extent> extents;
    off_t pos = start;
    while (pos < size) {
        const off_t data = ::lseek(fd, pos, SEEK_DATA);
        if (data < 0) {
            if (errno == ENXIO) {
                break; // only a hole remains
            }
            throw_io(path, "cannot find data extents", errno);
        }
        if (data >= size) {
            break;
        }
        off_t hole = ::lseek(fd, data, SEEK_HOLE);
        if (hole < 0 || hole > size) {
            hole = size;
        }
        extents.push_back({static_cast<std::uint64_t>(data), static_cast<std::uint64_t>(hole)});
        pos = hole;
    }
    return extents;
}

} // namespace

std::vector<Extent> data_extents(const std::filesystem::path& path) {
    const FdHandle fd(path, O_RDONLY);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        throw_io(path, "cannot stat", errno);
    }
    return extents_of(fd.get(), path, st.st_size);
}

CopyStats sparse_copy(const std::filesystem::path& from, const std::filesystem::path& to) {
    FdHandle in(from, O_RDONLY);
    // Private until the user decides: images can hold keys, password hashes and PSKs.
    FdHandle out(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    struct stat st {};
    if (::fstat(in.get(), &st) != 0) {
        throw_io(from, "cannot stat", errno);
    }
    CopyStats stats;
    stats.size = static_cast<std::uint64_t>(st.st_size);
    if (::ioctl(out.get(), FICLONE, in.get()) == 0) {
        stats.method = CopyStats::Method::reflink;
        stats.data_bytes = stats.size;
        out.close(to);
        return stats;
    }
    if (::ftruncate(out.get(), st.st_size) != 0) {
        throw_io(to, "cannot size the copy", errno);
    }
    bool in_kernel = true;
    for (const Extent& e : extents_of(in.get(), from, st.st_size)) {
        const auto data = static_cast<off_t>(e.start);
        const auto hole = static_cast<off_t>(e.end);
        if (in_kernel && !copy_range_in_kernel(in.get(), out.get(), data, hole, 0, to)) {
            in_kernel = false;
        }
        if (!in_kernel) {
            copy_range_read_write(in.get(), out.get(), data, hole, 0, to);
        }
        stats.data_bytes += e.end - e.start;
    }
    stats.method = in_kernel ? CopyStats::Method::copy_file_range : CopyStats::Method::read_write;
    out.close(to);
    return stats;
}

CopyStats sparse_copy_range(const std::filesystem::path& from, std::uint64_t from_offset,
                            std::uint64_t size, const std::filesystem::path& to,
                            std::uint64_t to_offset) {
    FdHandle in(from, O_RDONLY);
    FdHandle out(to, O_WRONLY | O_CREAT, 0600);
    struct stat st {};
    if (::fstat(out.get(), &st) != 0) {
        throw_io(to, "cannot stat", errno);
    }
    if (static_cast<std::uint64_t>(st.st_size) < to_offset + size &&
        ::ftruncate(out.get(), static_cast<off_t>(to_offset + size)) != 0) {
        throw_io(to, "cannot size the copy", errno);
    }
    CopyStats stats;
    stats.size = size;
    file_clone_range range{};
    range.src_fd = in.get();
    range.src_offset = from_offset;
    range.src_length = size;
    range.dest_offset = to_offset;
    if (::ioctl(out.get(), FICLONERANGE, &range) == 0) {
        stats.method = CopyStats::Method::reflink;
        stats.data_bytes = size;
        out.close(to);
        return stats;
    }
    const auto start = static_cast<off_t>(from_offset);
    const auto shift = static_cast<off_t>(to_offset) - start;
    bool in_kernel = true;
    for (const Extent& e : extents_of(in.get(), from, start + static_cast<off_t>(size), start)) {
        const auto data = static_cast<off_t>(e.start);
        const auto hole = static_cast<off_t>(e.end);
        if (in_kernel && !copy_range_in_kernel(in.get(), out.get(), data, hole, shift, to)) {
            in_kernel = false;
        }
        if (!in_kernel) {
            copy_range_read_write(in.get(), out.get(), data, hole, shift, to);
        }
        stats.data_bytes += e.end - e.start;
    }
    stats.method = in_kernel ? CopyStats::Method::copy_file_range : CopyStats::Method::read_write;
    out.close(to);
    return stats;
}

void punch_hole(const std::filesystem::path& path, std::uint64_t offset, std::uint64_t size) {
    FdHandle fd(path, O_WRONLY);
    if (::fallocate(fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                    static_cast<off_t>(offset), static_cast<off_t>(size)) != 0 &&
        errno != EOPNOTSUPP) {
        throw_io(path, "cannot free space", errno);
    }
    fd.close(path);
}

void create_sparse_file(const std::filesystem::path& path, std::uintmax_t size) {
    FdHandle out(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (::ftruncate(out.get(), static_cast<off_t>(size)) != 0) {
        throw_io(path, "cannot size the file", errno);
    }
    out.close(path);
}

AtomicOutput::AtomicOutput(std::filesystem::path final_path)
    : final_(std::move(final_path)) {
    temp_ = final_.parent_path() /
            fmt::format("{}{}.{}", temp_prefix, final_.filename().string(), ::getpid());
}

AtomicOutput::~AtomicOutput() {
    if (!committed_) {
        std::error_code ec;
        std::filesystem::remove(temp_, ec);
    }
}

void AtomicOutput::commit() {
    {
        FdHandle fd(temp_, O_RDONLY);
        if (::fsync(fd.get()) != 0) {
            throw_io(temp_, "fsync failed", errno);
        }
    }
    if (::rename(temp_.c_str(), final_.c_str()) != 0) {
        throw_io(final_, "cannot rename the finished output into place", errno);
    }
    committed_ = true;
    const auto dir =
        final_.parent_path().empty() ? std::filesystem::path(".") : final_.parent_path();
    FdHandle dir_fd(dir, O_RDONLY | O_DIRECTORY);
    ::fsync(dir_fd.get()); // best effort: the rename is done either way
}

namespace {

using DigestContext = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

DigestContext sha256_context(const std::string& what) {
    DigestContext ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
        throw Error(ErrorCategory::internal, what, "cannot initialise SHA-256");
    }
    return ctx;
}

std::string hex_digest(EVP_MD_CTX* ctx) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, digest, &len);
    std::string hex;
    hex.reserve(len * 2);
    for (unsigned int i = 0; i < len; ++i) {
        hex += fmt::format("{:02x}", digest[i]);
    }
    return hex;
}

} // namespace

void write_file_atomically(const std::filesystem::path& path, const std::string& content,
                           std::uint32_t mode) {
    AtomicOutput out(path);
    {
        FdHandle fd(out.temp_path(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                    static_cast<int>(mode));
        size_t done = 0;
        while (done < content.size()) {
            const ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
            if (n < 0) {
                throw_io(path, "cannot write", errno);
            }
            done += static_cast<size_t>(n);
        }
        // The umask may have narrowed the mode; the caller asked for exactly this one.
        if (::fchmod(fd.get(), mode) != 0) {
            throw_io(path, "cannot set the file mode", errno);
        }
    }
    out.commit();
}

struct Sha256::Impl {
    DigestContext ctx = sha256_context("sha256");
};

Sha256::Sha256()
    : impl_(std::make_unique<Impl>()) {}

Sha256::~Sha256() = default;

void Sha256::update(const void* data, std::size_t size) {
    EVP_DigestUpdate(impl_->ctx.get(), data, size);
}

std::string Sha256::hex() {
    return hex_digest(impl_->ctx.get());
}

std::string sha256_file(const std::filesystem::path& path) {
    FdHandle fd(path, O_RDONLY);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        throw_io(path, "cannot stat", errno);
    }
    Sha256 hash;
    std::vector<unsigned char> buffer(1 << 20);
    // Holes read as zeros: they are hashed from memory rather than read through the
    // kernel, which for a mostly empty disk image is most of the time hashing takes.
    const std::vector<unsigned char> zeros(buffer.size());
    const auto hash_zeros = [&](std::uint64_t n) {
        for (; n > 0; n -= std::min<std::uint64_t>(n, zeros.size())) {
            hash.update(zeros.data(), std::min<std::uint64_t>(n, zeros.size()));
        }
    };
    std::uint64_t pos = 0;
    for (const Extent& e : extents_of(fd.get(), path, st.st_size)) {
        hash_zeros(e.start - pos);
        for (pos = e.start; pos < e.end;) {
            const ssize_t got = ::pread(fd.get(), buffer.data(),
                                        std::min<std::uint64_t>(buffer.size(), e.end - pos),
                                        static_cast<off_t>(pos));
            if (got < 0) {
                throw_io(path, "reading failed", errno);
            }
            if (got == 0) {
                throw_io(path, "reading failed: the file shrank", EIO);
            }
            hash.update(buffer.data(), static_cast<size_t>(got));
            pos += static_cast<std::uint64_t>(got);
        }
    }
    hash_zeros(static_cast<std::uint64_t>(st.st_size) - pos);
    return hash.hex();
}

std::string sha256_text(const std::string& text) {
    Sha256 hash;
    hash.update(text.data(), text.size());
    return hash.hex();
}

} // namespace pimint
