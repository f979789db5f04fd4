// `publish --shrink`: a smaller image that grows back to the whole card when it first
// boots. The appliance shrinks the root filesystem (Appliance::shrink_root); these are
// the other two halves: arranging the growth inside the image, and cutting the
// partition and the file on the host.
#pragma once

#include "pimint/image/appliance.hpp"
#include "pimint/image/partition_table.hpp"

#include <cstdint>
#include <filesystem>
#include <string>

namespace pimint {

// Makes the mounted image grow its root partition and filesystem to the end of the card
// at first boot, with the mechanism the image carries: Raspbian's init_resize.sh (put in
// cmdline.txt as init=, with its resize2fs_once job growing the filesystem), otherwise a
// pimint first-boot service using the image's own sfdisk, partx and resize2fs. Returns
// which ("init_resize.sh" or "pimint-grow-root.service"). Throws Error(image) naming
// `image` when the image has neither.
std::string arrange_first_boot_growth(ImageFs& fs, const Layout& layout,
                                      const std::filesystem::path& image);

// Partition 2 of `table`; throws Error(image) naming `name` when it is missing or not
// the last partition, as only the last one can be cut short.
const Partition& require_root_last(const PartitionTable& table, const std::filesystem::path& name);

// On the host, with the appliance stopped: gives partition 2 of `image` (whose table
// was `table`) `root_sectors` sectors in the MBR and cuts the file where it ends.
void cut_after_root(const std::filesystem::path& image, const PartitionTable& table,
                    std::uint64_t root_sectors, const std::filesystem::path& name);

} // namespace pimint
