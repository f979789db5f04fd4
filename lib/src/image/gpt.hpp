// Writing a GUID partition table (GPT) into a disk image file on the host. pimint uses it
// for a scratch drive that holds many node images one after the other: the table makes
// each image's boot and root filesystems partitions the appliance can mount, so that one
// drive carries them all (each drive costs the appliance's start far more than a
// partition does).
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace pimint {

struct GptPartition {
    enum class Kind { fat, linux };
    Kind kind = Kind::linux;
    std::uint64_t first_sector = 0;
    std::uint64_t sectors = 0;
};

// The most partitions one table holds.
inline constexpr std::size_t gpt_max_partitions = 128;
// Sectors the table takes at the start of the disk (protective MBR, header, entries) and
// at its end (the backup entries and header).
inline constexpr std::uint64_t gpt_head_sectors = 34;
inline constexpr std::uint64_t gpt_tail_sectors = 33;

// Writes a protective MBR, the primary and the backup GPT into `image` (whose size is a
// whole number of sectors) listing `partitions`, numbered from 1 in order. They must lie
// between the head and the tail of the table and must not overlap. Writes nothing else.
void write_gpt(const std::filesystem::path& image, const std::vector<GptPartition>& partitions);

} // namespace pimint
