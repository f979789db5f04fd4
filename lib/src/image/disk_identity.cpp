#include "image/disk_identity.hpp"

#include "core/file_handle.hpp"
#include "core/random_bytes.hpp"
#include "core/text.hpp"
#include "pimint/core/error.hpp"

#include <array>
#include <cerrno>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/random.h>
#include <unistd.h>

namespace pimint {
namespace {

// A version 4 UUID.
std::string random_uuid() {
    std::array<std::uint32_t, 4> w{random_u32(), random_u32(), random_u32(), random_u32()};
    w[1] = (w[1] & 0xffff0fffU) | 0x00004000U; // version 4
    w[2] = (w[2] & 0x3fffffffU) | 0x80000000U; // RFC 4122 variant
    return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:04x}{:08x}", w[0], w[1] >> 16, w[1] & 0xffffU,
                       w[2] >> 16, w[2] & 0xffffU, w[3]);
}

void put_le32(FdHandle& fd, std::uint64_t offset, std::uint32_t value,
              const std::filesystem::path& image) {
    const unsigned char bytes[4] = {
        static_cast<unsigned char>(value), static_cast<unsigned char>(value >> 8),
        static_cast<unsigned char>(value >> 16), static_cast<unsigned char>(value >> 24)};
    if (::pwrite(fd.get(), bytes, 4, static_cast<off_t>(offset)) != 4) {
        throw Error(ErrorCategory::io, image.string(),
                    fmt::format("cannot write the disk identity at byte {}", offset));
    }
}

} // namespace

DiskIdentity new_disk_identity(std::set<std::uint32_t>& taken) {
    DiskIdentity id;
    do {
        id.disk_id = random_u32();
    } while (id.disk_id == 0 || !taken.insert(id.disk_id).second);
    id.fat_serial = random_u32();
    id.root_uuid = random_uuid();
    return id;
}

std::string fat_serial_text(std::uint32_t serial) {
    return fmt::format("{:04X}-{:04X}", serial >> 16, serial & 0xffffU);
}

void apply_disk_identity(Appliance& appliance, int index, const DiskIdentity& identity) {
    const std::string old_root_uuid = appliance.filesystem_uuid(index, 2);
    const std::string old_fat_serial = appliance.filesystem_uuid(index, 1);
    const std::string old_disk = disk_id_hex(appliance.partition_table(index).disk_id);
    const std::string new_disk = disk_id_hex(identity.disk_id);
    const Layout& layout = appliance.mount(index);
    ImageFs& fs = appliance.fs();
    for (const std::string& file :
         {layout.boot_mount + "/cmdline.txt", std::string("/etc/fstab")}) {
        auto text = fs.read_if_exists(file);
        if (!text) {
            continue;
        }
        std::string edited =
            text::replace_all(*text, "PARTUUID=" + old_disk + "-", "PARTUUID=" + new_disk + "-");
        if (!old_root_uuid.empty()) {
            edited =
                text::replace_all(edited, "UUID=" + old_root_uuid, "UUID=" + identity.root_uuid);
        }
        if (!old_fat_serial.empty()) {
            edited = text::replace_all(edited, "UUID=" + old_fat_serial,
                                       "UUID=" + fat_serial_text(identity.fat_serial));
        }
        if (edited != *text) {
            fs.write(file, edited);
        }
    }
    appliance.set_root_uuid(index, identity.root_uuid);
}

void write_disk_identity(const std::filesystem::path& image, const PartitionTable& table,
                         const DiskIdentity& identity) {
    FdHandle fd(image, O_RDWR | O_CLOEXEC);
    put_le32(fd, 440, identity.disk_id, image);
    const Partition& boot = table.partitions.front();
    unsigned char sector[512];
    if (::pread(fd.get(), sector, sizeof sector, static_cast<off_t>(boot.offset())) !=
        static_cast<ssize_t>(sizeof sector)) {
        throw Error(ErrorCategory::io, image.string(), "cannot read the boot filesystem");
    }
    // The serial sits at 0x43 on FAT32 (BPB_FATSz16 is 0) and at 0x27 on FAT12/16; FAT32
    // keeps a backup boot sector (BPB_BkBootSec) that must agree.
    const bool fat32 = sector[22] == 0 && sector[23] == 0;
    put_le32(fd, boot.offset() + (fat32 ? 0x43 : 0x27), identity.fat_serial, image);
    if (fat32) {
        const unsigned backup = sector[50] | (sector[51] << 8);
        if (backup != 0 && backup != 0xffff) {
            put_le32(fd, boot.offset() + backup * sector_size + 0x43, identity.fat_serial, image);
        }
    }
    if (::fsync(fd.get()) != 0) {
        throw Error(ErrorCategory::io, image.string(), "fsync failed");
    }
}

} // namespace pimint
