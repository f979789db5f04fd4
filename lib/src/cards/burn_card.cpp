// One image onto one card: the image's data ranges written in large blocks while the
// image is hashed as a whole (holes as zeros, as the manifest hashed it); then synced,
// and each range read back from the device rather than the page cache and compared
// with the image's.
#include "core/file_handle.hpp"
#include "image/disk_image_reader.hpp"
#include "pimint/cards/burn.hpp"
#include "pimint/core/error.hpp"
#include "pimint/core/files.hpp"
#include "pimint/core/interrupt.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/fs.h>
#include <optional>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace pimint {
namespace {

constexpr std::size_t block = 4 << 20;
// Zeroed at the end of a larger card: where a GPT disk keeps its backup header, which
// would otherwise survive from the card's last use and contradict the image's MBR.
constexpr std::uint64_t card_tail = 1 << 20;

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

[[noreturn]] void fail_io(const std::filesystem::path& path, const std::string& what, int err) {
    throw Error(ErrorCategory::io, path.string(), fmt::format("{}: {}", what, std::strerror(err)));
}

void read_exactly(int fd, const std::filesystem::path& path, char* buf, std::size_t n,
                  std::uint64_t at) {
    while (n > 0) {
        const ssize_t got = ::pread(fd, buf, n, static_cast<off_t>(at));
        if (got <= 0) {
            fail_io(path, "cannot read", got == 0 ? EIO : errno);
        }
        buf += got;
        n -= static_cast<std::size_t>(got);
        at += static_cast<std::uint64_t>(got);
    }
}

void write_exactly(int fd, const std::filesystem::path& path, const char* buf, std::size_t n,
                   std::uint64_t at) {
    while (n > 0) {
        const ssize_t put = ::pwrite(fd, buf, n, static_cast<off_t>(at));
        if (put <= 0) {
            if (put < 0 && errno == ENOSPC) {
                throw Error(ErrorCategory::target, path.string(),
                            "is full before the image was written; use a larger card or disk");
            }
            fail_io(path, "cannot write", put == 0 ? EIO : errno);
        }
        buf += put;
        n -= static_cast<std::size_t>(put);
        at += static_cast<std::uint64_t>(put);
    }
}

// Calls step(at, n) for each block of the image's data ranges, in order, and hashes
// the whole image with its holes as zeros (what the manifest records) from the bytes
// step leaves in buf.
template <typename Step>
std::string for_each_block(const std::vector<Extent>& extents, std::uint64_t size,
                           std::vector<char>& buf, Step step) {
    static const std::vector<char> zeros(block, 0);
    Sha256 image;
    std::uint64_t at = 0;
    const auto zero_until = [&](std::uint64_t end) {
        for (; at < end;) {
            const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(block, end - at));
            image.update(zeros.data(), n);
            at += n;
        }
    };
    for (const Extent& e : extents) {
        zero_until(e.start);
        for (; at < e.end;) {
            check_interrupted();
            const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(block, e.end - at));
            step(at, n);
            image.update(buf.data(), n);
            at += n;
        }
    }
    zero_until(size);
    return image.hex();
}

} // namespace

BurnResult burn_card(const BurnSource& source, const CardTarget& target,
                     const BurnProgressCallback& progress) {
    refuse_unsafe_target(target, source.size);
    // A raw image, or a node's overlay read through its stage.
    const auto image = DiskImageReader::open(source.image);
    struct stat target_st {};
    for (const auto& f : image->files()) {
        struct stat image_st {};
        if (::stat(f.c_str(), &image_st) == 0 && ::stat(target.path.c_str(), &target_st) == 0 &&
            image_st.st_dev == target_st.st_dev && image_st.st_ino == target_st.st_ino) {
            throw Error(ErrorCategory::target, target.path.string(),
                        "is the image itself, or its stage; give another file or a card's device");
        }
    }
    const auto extents = image->data_ranges();
    BurnResult result;
    result.image_size = source.size;
    for (const Extent& e : extents) {
        result.written += e.end - e.start;
    }
    BurnProgress p;
    p.total = 2 * result.written;
    const auto start = Clock::now();
    const auto tell = [&](const char* phase, std::uint64_t n) {
        p.phase = phase;
        p.done += n;
        p.seconds = since(start);
        if (progress) {
            progress(p);
        }
    };

    // A file appears under its name only once it has verified; a card is written in
    // place, opened exclusively so that the kernel refuses it while anything mounts it.
    std::optional<AtomicOutput> file;
    if (!target.block_device) {
        file.emplace(target.path);
    }
    const auto written_path = file ? file->temp_path() : target.path;
    {
        FdHandle out(written_path, file ? O_WRONLY | O_CREAT | O_TRUNC : O_WRONLY | O_EXCL, 0600);
        if (file && ::ftruncate(out.get(), static_cast<off_t>(source.size)) != 0) {
            fail_io(written_path, "cannot size the file", errno);
        }
        std::vector<char> buf(block);
        const std::string read_sha =
            for_each_block(extents, source.size, buf, [&](std::uint64_t at, std::size_t n) {
                image->read(at, {buf.data(), n});
                write_exactly(out.get(), target.path, buf.data(), n, at);
                tell("writing", n);
            });
        if (!source.sha256.empty() && read_sha != source.sha256) {
            throw Error(ErrorCategory::io, source.image.string(),
                        "no longer matches its manifest's SHA-256 (changed on disk since it was "
                        "made); make it again with the same pimint command");
        }
        result.sha256 = read_sha;
        if (!file && target.size >= source.size + card_tail) {
            const std::vector<char> zeros(card_tail, 0);
            write_exactly(out.get(), target.path, zeros.data(), zeros.size(),
                          target.size - card_tail);
        }
        tell("syncing", 0);
        if (::fsync(out.get()) != 0) {
            fail_io(target.path, "cannot flush the writes to the card", errno);
        }
        out.close(target.path);
    }
    result.write_seconds = since(start);

    // Read back what the device holds, not what the page cache remembers writing.
    const auto verify_start = Clock::now();
    {
        const FdHandle card(written_path, O_RDONLY);
        if (target.block_device) {
            ::ioctl(card.get(), BLKFLSBUF, 0);
        }
        ::posix_fadvise(card.get(), 0, 0, POSIX_FADV_DONTNEED);
        // Compared byte for byte with the image, which costs far less than hashing.
        std::vector<char> back(block);
        std::vector<char> want(block);
        for (const Extent& e : extents) {
            for (std::uint64_t at = e.start; at < e.end;) {
                check_interrupted();
                const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(block, e.end - at));
                read_exactly(card.get(), target.path, back.data(), n, at);
                image->read(at, {want.data(), n});
                if (std::memcmp(back.data(), want.data(), n) != 0) {
                    throw Error(ErrorCategory::target, target.path.string(),
                                fmt::format("reads back differently from {} near byte {}: the "
                                            "card is faulty or was taken out; try another card",
                                            source.image.filename().string(), at));
                }
                at += n;
                tell("verifying", n);
            }
        }
    }
    result.verify_seconds = since(verify_start);
    if (file) {
        file->commit();
    }
    return result;
}

} // namespace pimint
