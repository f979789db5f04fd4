#include "pimint/image/inspect.hpp"

#include "core/text.hpp"
#include "pimint/core/error.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace pimint {
namespace {

std::string first_line(const std::optional<std::string>& content) {
    if (!content) {
        return {};
    }
    const auto lines = text::split_lines(*content);
    return lines.empty() ? std::string() : std::string(text::trim(lines.front()));
}

std::string wifi_country(ImageFs& fs, const std::string& boot_mount) {
    const std::string wpa =
        fs.read_if_exists("/etc/wpa_supplicant/wpa_supplicant.conf").value_or("");
    for (auto line : text::split_lines(wpa)) {
        line = text::trim(line);
        if (line.starts_with("country=")) {
            return std::string(text::trim(line.substr(8)));
        }
    }
    // Raspberry Pi OS bookworm (NetworkManager) sets the regulatory domain on the
    // kernel command line instead.
    constexpr std::string_view key = "cfg80211.ieee80211_regdom=";
    const std::string cmdline = first_line(fs.read_if_exists(boot_mount + "/cmdline.txt"));
    for (auto word : text::split_ws(cmdline)) {
        if (word.starts_with(key)) {
            return std::string(word.substr(key.size()));
        }
    }
    return {};
}

void read_ssh_state(ImageFs& fs, const std::string& boot_mount, ImageInfo& info) {
    info.ssh_installed = fs.exists("/usr/sbin/sshd");
    if (!info.ssh_installed) {
        info.ssh_reason = "openssh-server is not installed";
        return;
    }
    for (const char* unit : {"ssh.service", "sshd.service"}) {
        if (fs.stat(std::string("/etc/systemd/system/multi-user.target.wants/") + unit)) {
            info.ssh_enabled = true;
            info.ssh_reason = fmt::format("{} is enabled", unit);
            return;
        }
    }
    for (const char* flag : {"ssh", "ssh.txt"}) {
        if (fs.exists(boot_mount + "/" + flag)) {
            info.ssh_enabled = true;
            info.ssh_reason = fmt::format("{}/{} turns it on at first boot", boot_mount, flag);
            return;
        }
    }
    info.ssh_reason = "no ssh.service link and no ssh file on the boot partition";
}

} // namespace

ImageInfo inspect_mounted(Appliance& appliance, int index, const Layout& layout) {
    ImageFs& fs = appliance.fs();
    const PartitionTable& table = appliance.partition_table(index);
    ImageInfo info;
    info.path = appliance.image_path(index);
    info.file_size = table.file_size;
    info.disk_id = disk_id_hex(table.disk_id);
    info.layout = layout.name();
    info.boot_mount = layout.boot_mount;
    for (const auto& p : table.partitions) {
        PartitionInfo pi;
        pi.number = p.number;
        pi.mbr_type = p.type;
        pi.offset = p.offset();
        pi.size = p.size();
        if (p.number == 1 || p.number == 2) {
            const bool boot = p.number == 1;
            pi.mount_point = boot ? layout.boot_mount : "/";
            pi.fs_type = boot ? "vfat" : layout.root_fs_type;
            pi.label = appliance.filesystem_label(index, p.number);
            const auto space = fs.space(pi.mount_point);
            pi.fs_total_bytes = space.total_bytes;
            pi.fs_free_bytes = space.free_bytes;
        }
        info.partitions.push_back(std::move(pi));
    }

    const auto os = text::parse_assignments(
        fs.read_if_exists("/etc/os-release")
            .value_or(fs.read_if_exists("/usr/lib/os-release").value_or("")));
    const auto get = [](const auto& map, const char* key) {
        const auto it = map.find(key);
        return it == map.end() ? std::string() : it->second;
    };
    info.os_name = get(os, "PRETTY_NAME");
    info.os_id = get(os, "ID");
    info.os_version = get(os, "VERSION_ID");
    info.os_codename = get(os, "VERSION_CODENAME");
    info.architecture = layout.architecture;
    info.code_baseline = layout.code_baseline;
    info.hostname = first_line(fs.read_if_exists("/etc/hostname"));

    for (const auto& e : text::parse_passwd(fs.read_if_exists("/etc/passwd").value_or(""))) {
        if (e.uid == 0 || (e.uid >= 1000 && e.uid < 60000)) {
            UserInfo u{e.name, e.uid, e.gid, e.home, e.shell};
            if (e.uid == 1000) {
                info.default_user = u;
            }
            info.users.push_back(std::move(u));
        }
    }
    read_ssh_state(fs, layout.boot_mount, info);

    info.locale =
        get(text::parse_assignments(fs.read_if_exists("/etc/default/locale").value_or("")), "LANG");
    const std::string locale_gen = fs.read_if_exists("/etc/locale.gen").value_or("");
    for (auto line : text::split_lines(locale_gen)) {
        line = text::trim(line);
        if (!line.empty() && line.front() != '#') {
            info.locales_generated.emplace_back(line);
        }
    }
    const auto kb =
        text::parse_assignments(fs.read_if_exists("/etc/default/keyboard").value_or(""));
    info.keyboard_model = get(kb, "XKBMODEL");
    info.keyboard_layout = get(kb, "XKBLAYOUT");
    info.keyboard_variant = get(kb, "XKBVARIANT");

    info.timezone = first_line(fs.read_if_exists("/etc/timezone"));
    if (info.timezone.empty()) {
        if (auto st = fs.stat("/etc/localtime"); st && st->type == FileStat::Type::symlink) {
            const std::string target = fs.readlink("/etc/localtime");
            const auto pos = target.find("zoneinfo/");
            if (pos != std::string::npos) {
                info.timezone = target.substr(pos + 9);
            }
        }
    }
    info.wifi_country = wifi_country(fs, layout.boot_mount);
    return info;
}

ImageInfo inspect_image(const std::filesystem::path& image, StatusCallback status) {
    Appliance appliance(std::move(status));
    const int index = appliance.add_image(image, Access::read_only);
    appliance.launch();
    const Layout layout = appliance.mount(index);
    ImageInfo info = inspect_mounted(appliance, index, layout);
    appliance.shutdown();
    return info;
}

std::string to_json(const ImageInfo& info) {
    using nlohmann::json;
    json parts = json::array();
    for (const auto& p : info.partitions) {
        parts.push_back({{"number", p.number},
                         {"mbr_type", fmt::format("0x{:02x}", p.mbr_type)},
                         {"offset", p.offset},
                         {"size", p.size},
                         {"fs_type", p.fs_type},
                         {"label", p.label},
                         {"mount_point", p.mount_point},
                         {"fs_total_bytes", p.fs_total_bytes},
                         {"fs_free_bytes", p.fs_free_bytes}});
    }
    const auto user_json = [](const UserInfo& u) {
        return json{
            {"name", u.name}, {"uid", u.uid}, {"gid", u.gid}, {"home", u.home}, {"shell", u.shell}};
    };
    json users = json::array();
    for (const auto& u : info.users) {
        users.push_back(user_json(u));
    }
    json out = {
        {"path", info.path.string()},
        {"file_size", info.file_size},
        {"disk_id", info.disk_id},
        {"partitions", parts},
        {"layout", info.layout},
        {"boot_mount", info.boot_mount},
        {"os",
         {{"name", info.os_name},
          {"id", info.os_id},
          {"version", info.os_version},
          {"codename", info.os_codename}}},
        {"architecture", info.architecture},
        {"code_baseline", info.code_baseline},
        {"hostname", info.hostname},
        {"users", users},
        {"default_user", info.default_user ? user_json(*info.default_user) : json(nullptr)},
        {"ssh",
         {{"installed", info.ssh_installed},
          {"enabled", info.ssh_enabled},
          {"reason", info.ssh_reason}}},
        {"locale", {{"lang", info.locale}, {"generated", info.locales_generated}}},
        {"keyboard",
         {{"model", info.keyboard_model},
          {"layout", info.keyboard_layout},
          {"variant", info.keyboard_variant}}},
        {"timezone", info.timezone},
        {"wifi_country", info.wifi_country},
    };
    return out.dump(2, ' ', false,
                    nlohmann::json::error_handler_t::replace); // image text may not be UTF-8
}

} // namespace pimint
