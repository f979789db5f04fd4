#include "command.hpp"
#include "status_display.hpp"

#include <fmt/format.h>
#include <pimint/image/inspect.hpp>

namespace po = boost::program_options;

namespace pimint::cli {
namespace {

std::string human_size(std::uint64_t bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double value = static_cast<double>(bytes);
    int unit = 0;
    while (value >= 1024 && unit < 4) {
        value /= 1024;
        ++unit;
    }
    return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, units[unit]);
}

std::string or_unset(const std::string& value) {
    return value.empty() ? "(not set)" : value;
}

void print_text(const ImageInfo& info) {
    fmt::print("{:<13}{} ({}, disk id {})\n", "Image", info.path.string(),
               human_size(info.file_size), info.disk_id);
    fmt::print("{:<13}{} (boot partition mounted at {})\n", "Layout", info.layout, info.boot_mount);
    bool first = true;
    for (const auto& p : info.partitions) {
        std::string line = fmt::format("{}  type 0x{:02x}  offset {}  size {}", p.number,
                                       p.mbr_type, human_size(p.offset), human_size(p.size));
        if (!p.mount_point.empty()) {
            line += fmt::format("  {} '{}' at {}, {} free of {}", p.fs_type, p.label, p.mount_point,
                                human_size(p.fs_free_bytes), human_size(p.fs_total_bytes));
        }
        fmt::print("{:<13}{}\n", first ? "Partitions" : "", line);
        first = false;
    }
    fmt::print("{:<13}{}\n", "OS", or_unset(info.os_name));
    fmt::print(
        "{:<13}{}\n", "Architecture",
        info.architecture.empty()
            ? std::string("unknown (no libc found)")
            : fmt::format("{} (code for {} and later)", info.architecture,
                          info.code_baseline.empty() ? "an unknown CPU" : info.code_baseline));
    fmt::print("{:<13}{}\n", "Hostname", or_unset(info.hostname));
    std::string users;
    for (const auto& u : info.users) {
        users += fmt::format("{}{} ({}:{})", users.empty() ? "" : ", ", u.name, u.uid, u.gid);
    }
    fmt::print("{:<13}{}\n", "Users", users);
    fmt::print("{:<13}{}\n", "Default user",
               info.default_user
                   ? fmt::format("{} ({})", info.default_user->name, info.default_user->home)
                   : "(none with uid 1000)");
    fmt::print("{:<13}{}: {}\n", "SSH", info.ssh_enabled ? "enabled" : "disabled", info.ssh_reason);
    fmt::print("{:<13}{}\n", "Locale", or_unset(info.locale));
    fmt::print(
        "{:<13}{}\n", "Keyboard",
        info.keyboard_layout.empty()
            ? "(not set)"
            : fmt::format(
                  "layout {}, model {}{}", info.keyboard_layout, or_unset(info.keyboard_model),
                  info.keyboard_variant.empty() ? "" : ", variant " + info.keyboard_variant));
    fmt::print("{:<13}{}\n", "Timezone", or_unset(info.timezone));
    fmt::print("{:<13}{}\n", "WiFi country", or_unset(info.wifi_country));
}

} // namespace

int run_inspect(const std::vector<std::string>& args) {
    CommonOptions common;
    std::string image;
    bool json = false;
    po::options_description desc("Options");
    desc.add_options()                                                             //
        ("image", po::value(&image)->required(), "the Raspberry Pi OS image file") //
        ("json", po::bool_switch(&json), "print the facts as one JSON object");
    add_common_options(desc, common);
    po::positional_options_description positional;
    positional.add("image", 1);
    if (!parse_command_line("inspect",
                            "IMAGE [--json]\n\nShows an image's partitions, layout, OS, "
                            "hostname, users, SSH, locale, keyboard, timezone and WiFi "
                            "country. The image is opened read-only.",
                            desc, positional, args, common)) {
        return 0;
    }
    StatusDisplay status(common.verbose, common.quiet);
    const ImageInfo info = inspect_image(image, status.callback());
    status.clear();
    if (json) {
        fmt::print("{}\n", to_json(info));
    } else {
        print_text(info);
    }
    return 0;
}

} // namespace pimint::cli
