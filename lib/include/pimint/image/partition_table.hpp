// Reading the MBR of a disk image on the host, before any appliance starts: the
// cheap way to reject files that are not Raspberry Pi images with a precise message.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
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

// Extends partition 2 (root) of `image` to the end of the file, which has grown, with
// write_partition_sectors. Throws Error(image) when another partition follows it.
void extend_root_partition(const std::filesystem::path& image, const std::filesystem::path& name);

// The first sector of `image` (the MBR with its partition table), or of the image that
// starts at `offset` in it; zero-filled where the file is shorter.
std::string read_first_sector(const std::filesystem::path& image, std::uint64_t offset = 0);

// Writes `sector` (512 bytes, as read_first_sector returns) as the first sector of
// `image`. Errors name the image by `name`.
void write_first_sector(const std::filesystem::path& image, const std::string& sector,
                        const std::filesystem::path& name);

// Whether `table` has an extended partition, whose logical partitions are described
// outside the first sector.
bool has_extended_partition(const PartitionTable& table);

// "9c5e2a17": the lower-case hex disk id as it appears in PARTUUID= references.
std::string disk_id_hex(std::uint32_t disk_id);

} // namespace pimint
