#include "image/filesystem_probe.hpp"

#include "image/disk_image_reader.hpp"

#include <array>
#include <cstring>

namespace pimint {
namespace {

std::uint32_t le32(const unsigned char* p) {
    return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

std::string ext_type(const unsigned char* sb) {
    constexpr std::uint32_t compat_has_journal = 0x4;
    // extents, 64bit, flex_bg; huge_file, gdt_csum, dir_nlink, extra_isize, metadata_csum
    constexpr std::uint32_t incompat_ext4 = 0x40 | 0x80 | 0x200;
    constexpr std::uint32_t ro_compat_ext4 = 0x8 | 0x10 | 0x20 | 0x40 | 0x400;
    if ((le32(sb + 96) & incompat_ext4) != 0 || (le32(sb + 100) & ro_compat_ext4) != 0) {
        return "ext4";
    }
    return (le32(sb + 92) & compat_has_journal) != 0 ? "ext3" : "ext2";
}

} // namespace

std::string probe_filesystem_type(const std::filesystem::path& image, const Partition& partition,
                                  const std::filesystem::path& backing) {
    // A raw image, or an overlay read through its stage.
    const auto disk = DiskImageReader::open(image, backing);
    std::array<unsigned char, 2048> head{};
    if (partition.offset() + head.size() > disk->size()) {
        return "";
    }
    disk->read(partition.offset(), {reinterpret_cast<char*>(head.data()), head.size()});
    const unsigned char* sb = head.data() + 1024;
    if (sb[56] == 0x53 && sb[57] == 0xEF) {
        return ext_type(sb);
    }
    const bool boot_signature = head[510] == 0x55 && head[511] == 0xAA;
    const bool fat16_name = std::memcmp(head.data() + 54, "FAT", 3) == 0;
    const bool fat32_name = std::memcmp(head.data() + 82, "FAT32", 5) == 0;
    return boot_signature && (fat16_name || fat32_name) ? "vfat" : "";
}

} // namespace pimint
