// Raw images are read as they are. A qcow2 file (the format described in qemu's
// docs/interop/qcow2.txt) maps the disk in clusters through a two-level table: the L1
// table points at L2 tables, whose entries give each cluster's place in the file, or
// say it reads as zeros, or (entry 0) that it was never written and comes from the
// backing file. The tables are small (8 bytes per 64 KiB cluster), so they are read
// whole when the file is opened.
#include "image/disk_image_reader.hpp"

#include "pimint/core/error.hpp"
#include "pimint/core/interrupt.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <endian.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

namespace pimint {
namespace {

constexpr std::array<unsigned char, 4> qcow2_magic = {'Q', 'F', 'I', 0xfb};
constexpr std::uint64_t offset_mask = 0x00fffffffffffe00ULL;
constexpr std::uint64_t compressed_flag = 1ULL << 62;
constexpr std::uint64_t zero_flag = 1ULL; // version 3: the cluster reads as zeros
constexpr std::uint32_t backing_format_extension = 0xe2792acaU;
// Incompatible features this reader handles: "dirty" (refcounts not yet written back,
// which reading never uses) and the compression type (compressed clusters are refused
// one by one).
constexpr std::uint64_t known_incompatible = (1ULL << 0) | (1ULL << 3);
// Bounds that keep a damaged or hostile header from making the tables huge: 2^26
// clusters (4 TiB in qemu's default 64 KiB clusters) and qemu's own 32 MiB L1 limit.
constexpr std::uint64_t max_clusters = 1ULL << 26;
constexpr std::uint64_t max_l1_entries = (32ULL << 20) / 8;

[[noreturn]] void fail_io(const std::filesystem::path& path, const std::string& what, int err) {
    throw Error(ErrorCategory::io, path.string(), fmt::format("{}: {}", what, std::strerror(err)));
}

[[noreturn]] void unsupported(const std::filesystem::path& path, const std::string& what) {
    throw Error(ErrorCategory::usage, path.string(),
                fmt::format("is a qcow2 image with {}, which pimint does not read; convert it "
                            "with 'qemu-img convert -O raw'",
                            what));
}

void read_at(int fd, const std::filesystem::path& path, char* buf, std::size_t n,
             std::uint64_t at) {
    while (n > 0) {
        const ssize_t got = ::pread(fd, buf, n, static_cast<off_t>(at));
        if (got < 0) {
            fail_io(path, "cannot read", errno);
        }
        if (got == 0) {
            throw Error(ErrorCategory::io, path.string(),
                        fmt::format("ends before byte {}: the file is truncated", at + n));
        }
        buf += got;
        n -= static_cast<std::size_t>(got);
        at += static_cast<std::uint64_t>(got);
    }
}

std::uint64_t file_size_of(int fd, const std::filesystem::path& path) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        fail_io(path, "cannot stat", errno);
    }
    return static_cast<std::uint64_t>(st.st_size);
}

std::uint32_t be32_at(const char* p) {
    std::uint32_t v = 0;
    std::memcpy(&v, p, sizeof v);
    return be32toh(v);
}

std::uint64_t be64_at(const char* p) {
    std::uint64_t v = 0;
    std::memcpy(&v, p, sizeof v);
    return be64toh(v);
}

class RawReader final : public DiskImageReader {
public:
    explicit RawReader(std::filesystem::path path)
        : path_(std::move(path))
        , fd_(path_, O_RDONLY)
        , size_(file_size_of(fd_.get(), path_)) {}

    std::uint64_t size() const override { return size_; }
    std::vector<Extent> data_ranges() const override { return data_extents(path_); }
    void read(std::uint64_t offset, std::span<char> out) const override {
        read_at(fd_.get(), path_, out.data(), out.size(), offset);
    }
    std::vector<std::filesystem::path> files() const override { return {path_}; }
    std::string cluster_map() const override { return {}; }

private:
    std::filesystem::path path_;
    FdHandle fd_;
    std::uint64_t size_;
};

class Qcow2Reader final : public DiskImageReader {
public:
    Qcow2Reader(std::filesystem::path path, std::filesystem::path backing)
        : path_(std::move(path))
        , trusted_backing_(std::move(backing))
        , fd_(path_, O_RDONLY) {
        read_header();
    }

    std::uint64_t size() const override { return size_; }

    std::vector<Extent> data_ranges() const override {
        const std::vector<Extent> backing =
            backing_ ? backing_->data_ranges() : std::vector<Extent>{};
        std::vector<Extent> ranges;
        const auto add = [&](std::uint64_t start, std::uint64_t end) {
            if (start >= end) {
                return;
            }
            if (!ranges.empty() && ranges.back().end == start) {
                ranges.back().end = end;
            } else {
                ranges.push_back({start, end});
            }
        };
        auto next_backing = backing.begin();
        for (std::uint64_t c = 0; c < entries_.size(); ++c) {
            const std::uint64_t start = c * cluster_size_;
            const std::uint64_t end = std::min(size_, start + cluster_size_);
            const std::uint64_t entry = entries_[c];
            if ((entry & offset_mask) != 0 && (entry & zero_flag) == 0) {
                add(start, end);
                continue;
            }
            if (entry != 0) {
                continue; // reads as zeros
            }
            while (next_backing != backing.end() && next_backing->end <= start) {
                ++next_backing;
            }
            for (auto b = next_backing; b != backing.end() && b->start < end; ++b) {
                add(std::max(start, b->start), std::min(end, b->end));
            }
        }
        return ranges;
    }

    void read(std::uint64_t offset, std::span<char> out) const override {
        if (offset + out.size() > size_) {
            throw Error(ErrorCategory::internal, path_.string(), "read past the disk's end");
        }
        std::size_t done = 0;
        while (done < out.size()) {
            const std::uint64_t at = offset + done;
            const std::uint64_t cluster = at / cluster_size_;
            const std::uint64_t within = at % cluster_size_;
            const std::size_t n = static_cast<std::size_t>(
                std::min<std::uint64_t>(cluster_size_ - within, out.size() - done));
            const std::uint64_t entry = entries_[cluster];
            char* buf = out.data() + done;
            if ((entry & offset_mask) != 0 && (entry & zero_flag) == 0) {
                read_at(fd_.get(), path_, buf, n, (entry & offset_mask) + within);
            } else if (entry == 0 && backing_) {
                read_backing(at, buf, n);
            } else {
                std::memset(buf, 0, n);
            }
            done += n;
        }
    }

    std::vector<std::filesystem::path> files() const override {
        std::vector<std::filesystem::path> all{path_};
        if (backing_) {
            for (auto& f : backing_->files()) {
                all.push_back(std::move(f));
            }
        }
        return all;
    }

    std::string cluster_map() const override {
        Sha256 sha;
        sha.update(entries_.data(), entries_.size() * sizeof entries_[0]);
        return sha.hex();
    }

private:
    // A backing file shorter than the disk reads as zeros past its end.
    void read_backing(std::uint64_t at, char* buf, std::size_t n) const {
        const std::uint64_t backing_size = backing_->size();
        const std::size_t from_backing =
            at >= backing_size
                ? 0
                : static_cast<std::size_t>(std::min<std::uint64_t>(n, backing_size - at));
        if (from_backing > 0) {
            backing_->read(at, {buf, from_backing});
        }
        std::memset(buf + from_backing, 0, n - from_backing);
    }

    void read_header() {
        std::array<char, 104> h{};
        const std::uint64_t file_size = file_size_of(fd_.get(), path_);
        if (file_size < 72) {
            throw Error(ErrorCategory::io, path_.string(), "is too short for a qcow2 header");
        }
        read_at(fd_.get(), path_, h.data(), std::min<std::uint64_t>(h.size(), file_size), 0);
        const std::uint32_t version = be32_at(&h[4]);
        if (version != 2 && version != 3) {
            unsupported(path_, fmt::format("version {}", version));
        }
        const std::uint64_t backing_offset = be64_at(&h[8]);
        const std::uint32_t backing_length = be32_at(&h[16]);
        const std::uint32_t cluster_bits = be32_at(&h[20]);
        size_ = be64_at(&h[24]);
        if (be32_at(&h[32]) != 0) {
            unsupported(path_, "encryption");
        }
        const std::uint32_t l1_size = be32_at(&h[36]);
        const std::uint64_t l1_offset = be64_at(&h[40]);
        std::uint32_t header_length = 72;
        if (version == 3) {
            const std::uint64_t incompatible = be64_at(&h[72]);
            if ((incompatible & (1ULL << 1)) != 0) {
                unsupported(path_, "its corrupt flag set");
            }
            if ((incompatible & ~known_incompatible) != 0) {
                unsupported(path_, fmt::format("incompatible features {:#x} (an external data "
                                               "file or extended L2 entries)",
                                               incompatible & ~known_incompatible));
            }
            header_length = be32_at(&h[100]);
            if (header_length < 104 || header_length % 8 != 0) {
                throw Error(ErrorCategory::io, path_.string(),
                            "has a qcow2 header of a wrong length: the file is damaged");
            }
        }
        version_ = version;
        if (cluster_bits < 9 || cluster_bits > 21) {
            throw Error(
                ErrorCategory::io, path_.string(),
                fmt::format("has a qcow2 cluster size of 2^{}: the file is damaged", cluster_bits));
        }
        cluster_size_ = 1ULL << cluster_bits;
        if (size_ / cluster_size_ >= max_clusters || l1_size > max_l1_entries) {
            unsupported(path_, "more than 2^26 clusters");
        }
        const std::uint64_t clusters = (size_ + cluster_size_ - 1) / cluster_size_;
        const std::uint64_t per_l2 = cluster_size_ / 8;
        if (l1_size < (clusters + per_l2 - 1) / per_l2) {
            throw Error(ErrorCategory::io, path_.string(),
                        "has a qcow2 L1 table too small for its size: the file is damaged");
        }
        const std::string format = read_extensions(header_length, backing_offset, file_size);
        if (backing_length > 0) {
            open_backing(backing_offset, backing_length, format);
        }
        read_tables(l1_offset, l1_size, clusters, per_l2);
    }

    // The header extensions: returns the backing file's format, when named.
    std::string read_extensions(std::uint64_t at, std::uint64_t backing_offset,
                                std::uint64_t file_size) {
        const std::uint64_t end = std::min(cluster_size_, file_size);
        while (at + 8 <= end && (backing_offset == 0 || at + 8 <= backing_offset)) {
            std::array<char, 8> e{};
            read_at(fd_.get(), path_, e.data(), e.size(), at);
            const std::uint32_t type = be32_at(&e[0]);
            const std::uint32_t length = be32_at(&e[4]);
            if (type == 0) {
                break;
            }
            if (type == backing_format_extension && length < 64 && at + 8 + length <= end) {
                std::string format(length, '\0');
                read_at(fd_.get(), path_, format.data(), length, at + 8);
                return format;
            }
            at += 8 + (length + 7) / 8 * 8;
        }
        return {};
    }

    void open_backing(std::uint64_t offset, std::uint32_t length, const std::string& format) {
        if (!trusted_backing_.empty()) {
            backing_ = std::make_unique<RawReader>(trusted_backing_);
            return;
        }
        if (length > 1023) {
            throw Error(ErrorCategory::io, path_.string(),
                        "names a qcow2 backing file longer than 1023 bytes: the file is damaged");
        }
        std::string name(length, '\0');
        read_at(fd_.get(), path_, name.data(), length, offset);
        // Only a file next to the overlay, as pimint makes them: an image from elsewhere
        // must not make pimint (or qemu) read any file it names into a card or download.
        if (name.empty() || name.find('/') != std::string::npos ||
            name.find(':') != std::string::npos || name == "." || name == "..") {
            unsupported(path_, fmt::format("the backing file '{}' outside its directory", name));
        }
        const std::filesystem::path backing = path_.parent_path() / name;
        if (!std::filesystem::exists(backing)) {
            throw Error(ErrorCategory::io, path_.string(),
                        fmt::format("needs its backing file {}, which is missing; keep the "
                                    "overlay in the directory that holds it",
                                    name));
        }
        if ((!format.empty() && format != "raw") || (format.empty() && is_qcow2(backing))) {
            unsupported(path_, fmt::format("a backing file {} that is not raw", name));
        }
        backing_ = std::make_unique<RawReader>(backing);
    }

    void read_tables(std::uint64_t l1_offset, std::uint32_t l1_size, std::uint64_t clusters,
                     std::uint64_t per_l2) {
        std::vector<char> l1(static_cast<std::size_t>(l1_size) * 8);
        read_at(fd_.get(), path_, l1.data(), l1.size(), l1_offset);
        entries_.assign(clusters, 0);
        std::vector<char> l2(cluster_size_);
        for (std::uint64_t i = 0; i * per_l2 < clusters; ++i) {
            const std::uint64_t l2_offset = be64_at(&l1[i * 8]) & offset_mask;
            if (l2_offset == 0) {
                continue; // none of its clusters written
            }
            read_at(fd_.get(), path_, l2.data(), l2.size(), l2_offset);
            for (std::uint64_t k = 0; k < per_l2 && i * per_l2 + k < clusters; ++k) {
                const std::uint64_t entry = be64_at(&l2[k * 8]);
                if ((entry & compressed_flag) != 0) {
                    unsupported(path_, "compressed clusters");
                }
                // The "copied" flag (bit 63) only concerns writers; the zero flag exists
                // from version 3 on.
                entries_[i * per_l2 + k] = entry & (offset_mask | (version_ >= 3 ? zero_flag : 0));
            }
        }
    }

    std::filesystem::path path_;
    std::filesystem::path trusted_backing_; // read instead of the file the header names
    FdHandle fd_;
    std::uint64_t size_ = 0;
    std::uint64_t cluster_size_ = 0;
    std::uint32_t version_ = 0;
    // Per cluster: its offset in the file (and zero_flag), or 0 when never written.
    std::vector<std::uint64_t> entries_;
    std::unique_ptr<DiskImageReader> backing_;
};

} // namespace

bool is_qcow2(const std::filesystem::path& path) {
    // A file that cannot be read is no qcow2 file: whoever opens it next says why.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    std::array<char, 4> magic{};
    const bool qcow2 = ::pread(fd, magic.data(), magic.size(), 0) == 4 &&
                       std::memcmp(magic.data(), qcow2_magic.data(), magic.size()) == 0;
    ::close(fd);
    return qcow2;
}

void require_raw_image(const std::filesystem::path& path) {
    if (is_qcow2(path)) {
        throw Error(ErrorCategory::image, path.string(),
                    "is a qcow2 image (a node overlay?); give a raw .img, for an overlay the one "
                    "pimint materialize writes");
    }
}

std::unique_ptr<DiskImageReader> DiskImageReader::open(const std::filesystem::path& path,
                                                       const std::filesystem::path& backing) {
    if (is_qcow2(path)) {
        return std::make_unique<Qcow2Reader>(path, backing);
    }
    return std::make_unique<RawReader>(path);
}

std::string sha256_disk(const DiskImageReader& reader) {
    constexpr std::size_t block = 4 << 20;
    std::vector<char> buf(block);
    const std::vector<char> zeros(block, 0);
    Sha256 sha;
    std::uint64_t at = 0;
    const auto feed = [&](std::uint64_t end, bool data) {
        while (at < end) {
            check_interrupted();
            const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(block, end - at));
            if (data) {
                reader.read(at, {buf.data(), n});
            }
            sha.update(data ? buf.data() : zeros.data(), n);
            at += n;
        }
    };
    for (const Extent& e : reader.data_ranges()) {
        feed(e.start, false);
        feed(e.end, true);
    }
    feed(reader.size(), false);
    return sha.hex();
}

void write_raw_image(const DiskImageReader& reader, const std::filesystem::path& to) {
    constexpr std::size_t block = 4 << 20;
    const FdHandle out(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (::ftruncate(out.get(), static_cast<off_t>(reader.size())) != 0) {
        fail_io(to, "cannot size the file", errno);
    }
    std::vector<char> buf(block);
    for (const Extent& e : reader.data_ranges()) {
        for (std::uint64_t at = e.start; at < e.end;) {
            check_interrupted();
            const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(block, e.end - at));
            reader.read(at, {buf.data(), n});
            for (std::size_t put = 0; put < n;) {
                const ssize_t w =
                    ::pwrite(out.get(), buf.data() + put, n - put, static_cast<off_t>(at + put));
                if (w <= 0) {
                    fail_io(to, "cannot write", w == 0 ? EIO : errno);
                }
                put += static_cast<std::size_t>(w);
            }
            at += n;
        }
    }
}

} // namespace pimint
