// `unique_disk_ids`: clones of one image carry the same MBR disk signature (hence the
// same PARTUUIDs), FAT volume serial and ext4 UUID, so two cards in one reader clash.
// A node gets new ones, and the PARTUUID=/UUID= references in cmdline.txt and fstab
// that named the old ones are rewritten to match.
#pragma once

#include "pimint/image/appliance.hpp"
#include "pimint/image/partition_table.hpp"

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>

namespace pimint {

struct DiskIdentity {
    std::uint32_t disk_id = 0;    // MBR signature
    std::uint32_t fat_serial = 0; // boot filesystem's volume serial
    std::string root_uuid;        // ext4 UUID, lower-case 8-4-4-4-12
};

// Random identities, never one in `taken` (which grows by the new disk id).
DiskIdentity new_disk_identity(std::set<std::uint32_t>& taken);

// "1234-ABCD", as blkid shows a FAT serial.
std::string fat_serial_text(std::uint32_t serial);

// Inside the appliance, image `index` of `appliance`: rewrites references to the old
// identity in cmdline.txt and fstab, then sets the root filesystem's UUID.
void apply_disk_identity(Appliance& appliance, int index, const DiskIdentity& identity);

// On the host, once the appliance has stopped: writes the MBR signature and the FAT
// volume serial (and its FAT32 backup boot sector) into the image file.
void write_disk_identity(const std::filesystem::path& image, const PartitionTable& table,
                         const DiskIdentity& identity);

} // namespace pimint
