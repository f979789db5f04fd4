// The type of a partition's filesystem, read from its superblock on the host. The
// appliance could tell (blkid), but each blkid run there costs a quarter of a second
// under emulation, and a cluster run mounts every node once.
#pragma once

#include "pimint/image/partition_table.hpp"

#include <filesystem>
#include <string>

namespace pimint {

// "ext4", "ext3", "ext2", "vfat", or "" when the partition holds none of these. An
// overlay's `backing`, when given, is read instead of the file it names
// (DiskImageReader::open).
std::string probe_filesystem_type(const std::filesystem::path& image, const Partition& partition,
                                  const std::filesystem::path& backing = {});

} // namespace pimint
