#include "pimint/image/partition_table.hpp"

#include "core/file_handle.hpp"
#include "image/disk_image_reader.hpp"
#include "pimint/core/error.hpp"

#include <algorithm>
#include <array>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

namespace pimint {
namespace {

constexpr std::uint8_t gpt_protective_type = 0xee;

std::uint32_t le32(const unsigned char* p) {
    return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 |
           std::uint32_t(p[3]) << 24;
}

bool is_fat_type(std::uint8_t type) {
    return type == 0x01 || type == 0x04 || type == 0x06 || type == 0x0b || type == 0x0c ||
           type == 0x0e;
}

} // namespace

PartitionTable read_partition_table(const std::filesystem::path& image) {
    const std::string ctx = image.string();
    std::error_code ec;
    if (std::filesystem::is_directory(image, ec)) {
        throw Error(ErrorCategory::image, ctx, "is a directory, not a disk image file");
    }
    // A raw image, or a node overlay read through its stage.
    const auto disk = DiskImageReader::open(image);
    std::array<unsigned char, sector_size> mbr{};
    const auto got = std::min<std::uint64_t>(disk->size(), mbr.size());
    disk->read(0, {reinterpret_cast<char*>(mbr.data()), static_cast<std::size_t>(got)});
    if (got < mbr.size()) {
        throw Error(ErrorCategory::image, ctx,
                    fmt::format("not a disk image: only {} bytes, an MBR needs 512; point "
                                "pimint at a Raspberry Pi OS .img file",
                                got));
    }
    if (mbr[510] != 0x55 || mbr[511] != 0xaa) {
        throw Error(ErrorCategory::image, ctx,
                    "not a disk image: no MBR boot signature in the first sector (a "
                    "compressed download? unpack the .img from the .zip or .xz first)");
    }
    PartitionTable table;
    table.disk_id = le32(&mbr[440]);
    table.file_size = disk->size();
    for (int i = 0; i < 4; ++i) {
        const unsigned char* entry = &mbr[446 + 16 * i];
        Partition part;
        part.number = i + 1;
        part.type = entry[4];
        part.start_sector = le32(entry + 8);
        part.sectors = le32(entry + 12);
        if (part.type == 0 || part.sectors == 0) {
            continue;
        }
        if (part.type == gpt_protective_type) {
            throw Error(ErrorCategory::image, ctx,
                        "has a GPT partition table; pimint needs a Raspberry Pi OS image "
                        "with an MBR (boot partition 1, root partition 2)");
        }
        if (part.offset() + part.size() > table.file_size) {
            throw Error(ErrorCategory::image, ctx,
                        fmt::format("truncated: partition {} ends at byte {} but the file has "
                                    "only {} bytes; download or copy the image again",
                                    part.number, part.offset() + part.size(), table.file_size));
        }
        table.partitions.push_back(part);
    }
    if (table.partitions.empty()) {
        throw Error(ErrorCategory::image, ctx,
                    "has an empty partition table; a Raspberry Pi OS image has a boot "
                    "and a root partition");
    }
    return table;
}

void require_pi_layout(const PartitionTable& table, const std::filesystem::path& image) {
    const std::string ctx = image.string();
    const auto find = [&](int number) -> const Partition* {
        for (const auto& p : table.partitions) {
            if (p.number == number) {
                return &p;
            }
        }
        return nullptr;
    };
    const Partition* boot = find(1);
    const Partition* root = find(2);
    if (boot == nullptr || !is_fat_type(boot->type)) {
        throw Error(ErrorCategory::image, ctx,
                    boot == nullptr
                        ? std::string("not a Raspberry Pi layout: no partition 1 (the FAT boot "
                                      "partition)")
                        : fmt::format("not a Raspberry Pi layout: partition 1 has type 0x{:02x}, "
                                      "expected a FAT boot partition (0x0c)",
                                      boot->type));
    }
    if (root == nullptr) {
        throw Error(ErrorCategory::image, ctx,
                    "missing root partition: partition 2 (the Linux root filesystem) is "
                    "absent; is this only a boot partition image?");
    }
    if (root->type != 0x83) {
        throw Error(ErrorCategory::image, ctx,
                    fmt::format("not a Raspberry Pi layout: partition 2 has type 0x{:02x}, "
                                "expected a Linux root partition (0x83)",
                                root->type));
    }
}

void write_partition_sectors(const std::filesystem::path& image, int number, std::uint64_t sectors,
                             const std::filesystem::path& name) {
    if (number < 1 || number > 4 || sectors > 0xffffffffULL) {
        throw Error(ErrorCategory::internal, name.string(),
                    fmt::format("no MBR entry for partition {} of {} sectors", number, sectors));
    }
    const std::array<unsigned char, 4> field = {
        static_cast<unsigned char>(sectors), static_cast<unsigned char>(sectors >> 8),
        static_cast<unsigned char>(sectors >> 16), static_cast<unsigned char>(sectors >> 24)};
    FdHandle fd(image, O_RDWR | O_CLOEXEC);
    // Entry `number` of the table at byte 446, 16 bytes each; the sector count at 12.
    const off_t at = 446 + 16 * (number - 1) + 12;
    if (::pwrite(fd.get(), field.data(), field.size(), at) != static_cast<ssize_t>(field.size())) {
        throw Error(ErrorCategory::io, name.string(), "cannot write the partition table");
    }
    fd.close(name);
}

void extend_root_partition(const std::filesystem::path& image, const std::filesystem::path& name) {
    const PartitionTable table = read_partition_table(image);
    const auto root = std::find_if(table.partitions.begin(), table.partitions.end(),
                                   [](const Partition& p) { return p.number == 2; });
    if (root == table.partitions.end()) {
        throw Error(ErrorCategory::image, name.string(),
                    "cannot grow the root partition: no partition 2");
    }
    for (const auto& p : table.partitions) {
        if (p.offset() > root->offset()) {
            throw Error(
                ErrorCategory::image, name.string(),
                fmt::format("cannot grow the root partition: partition {} follows it", p.number));
        }
    }
    write_partition_sectors(image, 2, table.file_size / sector_size - root->start_sector, name);
}

std::string read_first_sector(const std::filesystem::path& image, std::uint64_t offset) {
    std::string sector(sector_size, '\0');
    FdHandle fd(image, O_RDONLY | O_CLOEXEC);
    size_t got = 0;
    while (got < sector.size()) {
        const ssize_t n = ::pread(fd.get(), sector.data() + got, sector.size() - got,
                                  static_cast<off_t>(offset + got));
        if (n < 0) {
            throw Error(ErrorCategory::io, image.string(), "cannot read the partition table");
        }
        if (n == 0) {
            break;
        }
        got += static_cast<size_t>(n);
    }
    return sector;
}

void write_first_sector(const std::filesystem::path& image, const std::string& sector,
                        const std::filesystem::path& name) {
    if (sector.size() != sector_size) {
        throw Error(ErrorCategory::internal, name.string(), "a first sector is 512 bytes");
    }
    FdHandle fd(image, O_WRONLY | O_CLOEXEC);
    if (::pwrite(fd.get(), sector.data(), sector.size(), 0) !=
        static_cast<ssize_t>(sector.size())) {
        throw Error(ErrorCategory::io, name.string(), "cannot write the partition table");
    }
    fd.close(name);
}

bool has_extended_partition(const PartitionTable& table) {
    return std::any_of(table.partitions.begin(), table.partitions.end(), [](const Partition& p) {
        return p.type == 0x05 || p.type == 0x0f || p.type == 0x85;
    });
}

std::string disk_id_hex(std::uint32_t disk_id) {
    return fmt::format("{:08x}", disk_id);
}

} // namespace pimint
