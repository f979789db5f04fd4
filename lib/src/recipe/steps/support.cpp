#include "recipe/steps/support.hpp"

#include "core/text.hpp"
#include "pimint/core/error.hpp"

#include <charconv>
#include <fmt/format.h>

namespace pimint::steps {

std::string replace_marked_block(const std::string& content, const std::string& tag,
                                 const std::vector<std::string>& lines, bool new_block_first) {
    const std::string begin = "# BEGIN pimint " + tag;
    const std::string end = "# END pimint " + tag;
    std::string block;
    if (!lines.empty()) {
        block = begin + "\n";
        for (const auto& l : lines) {
            block += l + "\n";
        }
        block += end + "\n";
    }
    const size_t b = content.find(begin + "\n");
    const size_t e = b == std::string::npos ? std::string::npos : content.find(end + "\n", b);
    if (b != std::string::npos && e != std::string::npos) {
        return content.substr(0, b) + block + content.substr(e + end.size() + 1);
    }
    if (block.empty()) {
        return content;
    }
    return new_block_first ? block + content : with_newline(content) + block;
}

std::string set_assignment(const std::string& content, const std::string& key,
                           const std::string& value, bool quote) {
    const std::string line = key + "=" + (quote ? "\"" + value + "\"" : value);
    std::string out;
    bool done = false;
    for (auto l : text::split_lines(content)) {
        const auto trimmed = text::trim(l);
        if (!done && trimmed.starts_with(key + "=")) {
            out += line + "\n";
            done = true;
        } else {
            out += std::string(l) + "\n";
        }
    }
    if (!done) {
        out += line + "\n";
    }
    return out;
}

void install_enabled_unit(ImageFs& fs, const std::string& name, const std::string& unit) {
    fs.mkdir_p(std::string(unit_dir) + "/multi-user.target.wants");
    fs.write(std::string(unit_dir) + "/" + name, unit);
    fs.chmod(std::string(unit_dir) + "/" + name, 0644);
    fs.symlink(std::string(unit_dir) + "/" + name,
               std::string(unit_dir) + "/multi-user.target.wants/" + name);
}

void install_first_boot_service(ImageFs& fs, const std::string& name,
                                const std::string& description, const std::string& script_body) {
    const std::string script = "/var/lib/pimint/" + name + ".sh";
    fs.mkdir_p("/var/lib/pimint");
    fs.write(script,
             "#!/bin/sh\n# Written by pimint; runs once at first boot, then is deleted.\nset -e\n" +
                 with_newline(script_body));
    fs.chmod(script, 0700);
    const std::string unit = fmt::format("[Unit]\n"
                                         "Description={}\n"
                                         "Before=systemd-user-sessions.service\n"
                                         "ConditionPathExists={}\n"
                                         "\n"
                                         "[Service]\n"
                                         "Type=oneshot\n"
                                         "ExecStart=/bin/sh -e {}\n"
                                         "ExecStartPost=/bin/rm -f {}\n"
                                         "ExecStartPost=/bin/systemctl disable {}.service\n"
                                         "StandardOutput=journal\n"
                                         "StandardError=journal\n"
                                         "\n"
                                         "[Install]\n"
                                         "WantedBy=multi-user.target\n",
                                         description, script, script, script, name);
    install_enabled_unit(fs, name + ".service", unit);
}

std::optional<Account> lookup_account(ImageFs& fs, const std::string& name) {
    for (const auto& e : text::parse_passwd(fs.read_if_exists("/etc/passwd").value_or(""))) {
        if (name.empty() ? e.uid == 1000 : e.name == name) {
            return Account{e.name, e.uid, e.gid, e.home};
        }
    }
    return std::nullopt;
}

Account find_account(ImageFs& fs, const std::string& name) {
    if (auto account = lookup_account(fs, name)) {
        return *account;
    }
    throw Error(ErrorCategory::image, "/etc/passwd",
                name.empty() ? std::string("the image has no default user (uid 1000); add a "
                                           "[user] section before this step: it creates pi")
                             : fmt::format("the image has no user '{}'; add a [user] section "
                                           "with name = \"{}\" before this step to create it",
                                           name, name));
}

namespace {

std::optional<std::uint32_t> number(std::string_view s) {
    std::uint32_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) {
        return std::nullopt;
    }
    return v;
}

std::uint32_t group_id(ImageFs& fs, const std::string& group) {
    if (auto n = number(group)) {
        return *n;
    }
    const std::string groups = fs.read_if_exists("/etc/group").value_or("");
    for (auto line : text::split_lines(groups)) {
        const auto first = line.find(':');
        const auto second = line.find(':', first + 1);
        const auto third = line.find(':', second + 1);
        if (first != std::string_view::npos && third != std::string_view::npos &&
            line.substr(0, first) == group) {
            if (auto gid = number(line.substr(second + 1, third - second - 1))) {
                return *gid;
            }
        }
    }
    throw Error(ErrorCategory::image, "/etc/group",
                fmt::format("the image has no group '{}'", group));
}

} // namespace

std::pair<std::uint32_t, std::uint32_t> resolve_owner(ImageFs& fs, const std::string& owner) {
    const auto colon = owner.find(':');
    const std::string user = owner.substr(0, colon);
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    if (auto n = number(user)) {
        uid = *n;
        gid = *n;
    } else {
        const Account a = find_account(fs, user);
        uid = a.uid;
        gid = a.gid;
    }
    if (colon != std::string::npos) {
        gid = group_id(fs, owner.substr(colon + 1));
    }
    return {uid, gid};
}

bool network_manager_active(ImageFs& fs) {
    if (!fs.exists("/usr/sbin/NetworkManager")) {
        return false;
    }
    const bool has_dhcpcd = fs.exists("/sbin/dhcpcd") || fs.exists("/usr/sbin/dhcpcd");
    return !has_dhcpcd ||
           fs.exists(std::string(unit_dir) + "/multi-user.target.wants/NetworkManager.service");
}

std::string with_newline(std::string text) {
    if (!text.empty() && text.back() != '\n') {
        text += '\n';
    }
    return text;
}

void check_value(const std::string& message, const std::string& step, const std::string& where) {
    if (!message.empty()) {
        throw Error(ErrorCategory::recipe, where, step + ": " + message);
    }
}

} // namespace pimint::steps
