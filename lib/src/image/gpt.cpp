#include "image/gpt.hpp"

#include "core/file_handle.hpp"
#include "core/random_bytes.hpp"
#include "pimint/core/error.hpp"
#include "pimint/image/partition_table.hpp"

#include <array>
#include <fcntl.h>
#include <fmt/format.h>
#include <string>
#include <unistd.h>
#include <zlib.h>

namespace pimint {
namespace {

constexpr std::uint32_t entry_size = 128;
constexpr std::uint32_t header_size = 92;

void put16(std::string& b, size_t at, std::uint16_t v) {
    b[at] = static_cast<char>(v);
    b[at + 1] = static_cast<char>(v >> 8);
}
void put32(std::string& b, size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) {
        b[at + static_cast<size_t>(i)] = static_cast<char>(v >> (8 * i));
    }
}
void put64(std::string& b, size_t at, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) {
        b[at + static_cast<size_t>(i)] = static_cast<char>(v >> (8 * i));
    }
}

// A GUID as GPT stores it: the first three fields little-endian, the rest as written.
void put_guid(std::string& b, size_t at, std::uint32_t a, std::uint16_t c, std::uint16_t d,
              const std::array<std::uint8_t, 8>& rest) {
    put32(b, at, a);
    put16(b, at + 4, c);
    put16(b, at + 6, d);
    for (size_t i = 0; i < rest.size(); ++i) {
        b[at + 8 + i] = static_cast<char>(rest[i]);
    }
}

void put_type(std::string& b, size_t at, GptPartition::Kind kind) {
    if (kind == GptPartition::Kind::fat) {
        // Microsoft basic data EBD0A0A2-B9E5-4433-87C0-68B6B72699C7
        put_guid(b, at, 0xEBD0A0A2, 0xB9E5, 0x4433,
                 {0x87, 0xC0, 0x68, 0xB6, 0xB7, 0x26, 0x99, 0xC7});
    } else {
        // Linux filesystem data 0FC63DAF-8483-4772-8E79-3D69C8477D4F
        put_guid(b, at, 0x0FC63DAF, 0x8483, 0x4772,
                 {0x8E, 0x79, 0x3D, 0x69, 0xC8, 0x47, 0x7D, 0x4F});
    }
}

// A random (version 4) GUID.
void put_random_guid(std::string& b, size_t at) {
    std::string r = random_bytes(16);
    r[7] = static_cast<char>((r[7] & 0x0f) | 0x40);
    r[8] = static_cast<char>((r[8] & 0x3f) | 0x80);
    b.replace(at, 16, r);
}

std::uint32_t crc(const std::string& b, size_t from, size_t size) {
    return static_cast<std::uint32_t>(
        crc32(0L, reinterpret_cast<const Bytef*>(b.data() + from), static_cast<uInt>(size)));
}

void write_at(int fd, const std::string& b, std::uint64_t sector,
              const std::filesystem::path& image) {
    if (::pwrite(fd, b.data(), b.size(), static_cast<off_t>(sector * sector_size)) !=
        static_cast<ssize_t>(b.size())) {
        throw Error(ErrorCategory::io, image.string(), "cannot write the partition table");
    }
}

} // namespace

void write_gpt(const std::filesystem::path& image, const std::vector<GptPartition>& partitions) {
    const std::uint64_t size = std::filesystem::file_size(image);
    const std::uint64_t last = size / sector_size - 1;
    const std::uint64_t first_usable = gpt_head_sectors;
    const std::uint64_t last_usable = last - gpt_tail_sectors;
    if (size % sector_size != 0 || partitions.size() > gpt_max_partitions ||
        last <= gpt_head_sectors + gpt_tail_sectors) {
        throw Error(ErrorCategory::internal, image.string(),
                    fmt::format("no GPT of {} partitions fits a file of {} bytes",
                                partitions.size(), size));
    }
    std::string entries(gpt_max_partitions * entry_size, '\0');
    std::uint64_t end_of_previous = first_usable;
    for (size_t i = 0; i < partitions.size(); ++i) {
        const GptPartition& p = partitions[i];
        if (p.sectors == 0 || p.first_sector < end_of_previous ||
            p.first_sector + p.sectors - 1 > last_usable) {
            throw Error(ErrorCategory::internal, image.string(),
                        fmt::format("GPT partition {} overlaps or leaves the disk", i + 1));
        }
        end_of_previous = p.first_sector + p.sectors;
        const size_t at = i * entry_size;
        put_type(entries, at, p.kind);
        put_random_guid(entries, at + 16);
        put64(entries, at + 32, p.first_sector);
        put64(entries, at + 40, p.first_sector + p.sectors - 1);
    }
    const std::uint32_t entries_crc = crc(entries, 0, entries.size());
    const std::uint64_t entry_sectors = entries.size() / sector_size;

    std::string header(sector_size, '\0');
    header.replace(0, 8, "EFI PART");
    put32(header, 8, 0x00010000);
    put32(header, 12, header_size);
    put64(header, 40, first_usable);
    put64(header, 48, last_usable);
    put_random_guid(header, 56);
    put32(header, 80, static_cast<std::uint32_t>(gpt_max_partitions));
    put32(header, 84, entry_size);
    put32(header, 88, entries_crc);
    // The two copies differ in where they are, where the other is, and their entries.
    const auto finish = [&](std::uint64_t mine, std::uint64_t other, std::uint64_t entries_at) {
        std::string h = header;
        put64(h, 24, mine);
        put64(h, 32, other);
        put64(h, 72, entries_at);
        put32(h, 16, crc(h, 0, header_size));
        return h;
    };

    // The protective MBR: one partition of type 0xee over the whole disk, so that MBR
    // tools leave it alone.
    std::string mbr(sector_size, '\0');
    mbr[446 + 2] = 0x02; // CHS of sector 1
    mbr[446 + 4] = static_cast<char>(0xee);
    mbr[446 + 5] = static_cast<char>(0xff);
    mbr[446 + 6] = static_cast<char>(0xff);
    mbr[446 + 7] = static_cast<char>(0xff);
    put32(mbr, 446 + 8, 1);
    put32(mbr, 446 + 12, static_cast<std::uint32_t>(std::min<std::uint64_t>(last, 0xffffffffU)));
    mbr[510] = 0x55;
    mbr[511] = static_cast<char>(0xaa);

    FdHandle fd(image, O_WRONLY | O_CLOEXEC);
    write_at(fd.get(), mbr, 0, image);
    write_at(fd.get(), finish(1, last, 2), 1, image);
    write_at(fd.get(), entries, 2, image);
    write_at(fd.get(), entries, last - entry_sectors, image);
    write_at(fd.get(), finish(last, 1, last - entry_sectors), last, image);
    fd.close(image);
}

} // namespace pimint
