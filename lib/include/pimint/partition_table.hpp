// Reading the MBR of a disk image on the host, before any appliance starts: the
// cheap way to reject files that are not Raspberry Pi images with a precise message.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace pimint {

inline constexpr std::uint64_t sector_size = 512;

struct Partition {
    int number = 0;        // 1-based, as in /dev/sda1
    std::uint8_t type = 0; // MBR type byte (0x0c FAT32 LBA, 0x83 Linux, ...)
    std::uint64_t start_sector = 0;
    std::uint64_t sectors = 0;

    std::uint64_t offset() const { return start_sector * sector_size; }
    std::uint64_t size() const { return sectors * sector_size; }
};

struct PartitionTable {
    std::uint32_t disk_id = 0; // the MBR disk signature; PARTUUIDs are "<disk_id>-0N"
    std::uint64_t file_size = 0;
    std::vector<Partition> partitions; // primary partitions in use, in table order
};

// Reads and checks the MBR of `image`. Throws Error (category image, or io when the file
// cannot be read) for: not a disk image, a GPT disk, partitions reaching past the end of
// the file (a truncated download).
PartitionTable read_partition_table(const std::filesystem::path& image);

// Checks the Raspberry Pi shape: partition 1 a FAT partition (boot) and partition 2 a
// Linux partition (root). Throws Error (category image) naming what differs.
void require_pi_layout(const PartitionTable& table, const std::filesystem::path& image);

// Sets the size of primary partition `number` in the MBR of `image` to `sectors`; only
// that field changes (no tool rewrites the disk signature, which PARTUUIDs name). Errors
// name the image by `name`.
void write_partition_sectors(const std::filesystem::path& image, int number, std::uint64_t sectors,
                             const std::filesystem::path& name);

// "9c5e2a17": the lower-case hex disk id as it appears in PARTUUID= references.
std::string disk_id_hex(std::uint32_t disk_id);

} // namespace pimint
