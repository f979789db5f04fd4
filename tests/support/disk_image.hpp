// Writes small disk image files with a hand-chosen MBR, for the bad-input tests.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace pimint::test {

struct PartitionSpec {
    std::uint8_t type;
    std::uint32_t start_sector;
    std::uint32_t sectors;
};

// Creates `path` (sparse) of `size_bytes` with an MBR listing `partitions`.
void write_mbr_image(const std::filesystem::path& path, std::uint64_t size_bytes,
                     const std::vector<PartitionSpec>& partitions,
                     std::uint32_t disk_id = 0x1234abcd);

// Creates `path`: a small image with the Raspberry Pi layout (a FAT boot partition and an
// ext4 root partition holding the files of the host directory `root`), made by
// mkfs.vfat and mke2fs -d into the partitions' places, without loop devices.
void write_pi_layout_image(const std::filesystem::path& path, const std::filesystem::path& root);

void write_file(const std::filesystem::path& path, const std::string& content);
std::string read_file(const std::filesystem::path& path);

// The modification time of `path` in nanoseconds (-1 when it cannot be read): what a
// resumed run compares to keep a file.
std::int64_t mtime_ns(const std::filesystem::path& path);

// Overwrites `length` bytes at `offset` with zeros.
void zero_range(const std::filesystem::path& path, std::uint64_t offset, std::uint64_t length);

} // namespace pimint::test
