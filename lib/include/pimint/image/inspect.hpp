// What a Raspberry Pi OS image is and how it is configured: the facts `pimint inspect`
// prints, read from the image without changing it.
#pragma once

#include "pimint/image/appliance.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace pimint {

struct PartitionInfo {
    int number = 0;
    std::uint8_t mbr_type = 0;
    std::uint64_t offset = 0;
    std::uint64_t size = 0;
    std::string fs_type; // "vfat", "ext4"
    std::string label;
    std::string mount_point; // where the image mounts it
    std::uint64_t fs_total_bytes = 0;
    std::uint64_t fs_free_bytes = 0;
};

struct UserInfo {
    std::string name;
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::string home;
    std::string shell;
};

struct ImageInfo {
    std::filesystem::path path;
    std::uint64_t file_size = 0;
    std::string disk_id; // hex, as in PARTUUID=
    std::vector<PartitionInfo> partitions;
    std::string layout; // "stretch" (/boot) or "bookworm" (/boot/firmware)
    std::string boot_mount;
    std::string os_name;    // PRETTY_NAME of /etc/os-release
    std::string os_id;      // ID
    std::string os_version; // VERSION_ID
    std::string os_codename;
    // From the image's own libc (its ELF header and ARM build attributes): Debian's
    // architecture name ("armhf", "arm64") and the oldest CPU its code runs on ("armv6kz",
    // "armv7", "armv8-a"). Empty when the image has no libc pimint knows where to find.
    std::string architecture;
    std::string code_baseline;
    std::string hostname;
    std::vector<UserInfo> users;          // root and the login users (uid 1000-59999)
    std::optional<UserInfo> default_user; // uid 1000, "pi" on Raspbian
    bool ssh_installed = false;
    bool ssh_enabled = false;
    std::string ssh_reason;                     // why enabled or not
    std::string locale;                         // LANG
    std::vector<std::string> locales_generated; // enabled lines of /etc/locale.gen
    std::string keyboard_model;
    std::string keyboard_layout;
    std::string keyboard_variant;
    std::string timezone;
    std::string wifi_country; // empty when unset (WiFi stays blocked on a Pi)
};

// Reads the facts from an image mounted in `appliance` as drive `index`.
ImageInfo inspect_mounted(Appliance& appliance, int index, const Layout& layout);

// Opens `image` read-only in its own appliance and inspects it.
ImageInfo inspect_image(const std::filesystem::path& image, StatusCallback status = {});

// The facts as a JSON object (stable keys, documented in README).
std::string to_json(const ImageInfo& info);

} // namespace pimint
