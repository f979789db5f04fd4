#include "recipe/steps/user_account.hpp"

#include "core/text.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <set>
#include <vector>

namespace pimint::steps {
namespace {

// The groups Raspberry Pi OS's first-user set-up adds its user to.
constexpr const char* first_user_groups[] = {
    "adm",     "dialout", "cdrom", "audio", "users", "sudo",   "video",  "games",
    "plugdev", "input",   "gpio",  "spi",   "i2c",   "netdev", "render", "lpadmin"};

// The colon-separated fields of a passwd, group or shadow line.
std::vector<std::string_view> fields_of(std::string_view line) {
    std::vector<std::string_view> fields;
    for (size_t at = 0;;) {
        const auto colon = line.find(':', at);
        fields.push_back(line.substr(at, colon - at));
        if (colon == std::string_view::npos) {
            return fields;
        }
        at = colon + 1;
    }
}

// The ids in use in the third field of a passwd or group file.
std::set<std::uint32_t> ids_in(const std::string& content) {
    std::set<std::uint32_t> ids;
    for (auto line : text::split_lines(content)) {
        const auto fields = fields_of(line);
        if (fields.size() > 2) {
            try {
                ids.insert(static_cast<std::uint32_t>(std::stoul(std::string(fields[2]))));
            } catch (const std::exception&) {
                // a malformed line names no id
            }
        }
    }
    return ids;
}

std::uint32_t first_free(const std::set<std::uint32_t>& used, std::uint32_t wanted) {
    while (used.contains(wanted)) {
        ++wanted;
    }
    return wanted;
}

// Adds `user` to the member list (the fourth field) of each group in `groups` in a
// group or gshadow file.
std::string add_member(const std::string& content, const std::set<std::string>& groups,
                       const std::string& user) {
    std::string out;
    for (auto line : text::split_lines(content)) {
        std::string l(line);
        const auto fields = fields_of(line);
        if (fields.size() == 4 && groups.contains(std::string(fields[0]))) {
            l += fields[3].empty() ? user : "," + user;
        }
        out += l + "\n";
    }
    return out;
}

// Copies /etc/skel's files into `home`, owned by the new user.
void copy_skel(ImageFs& fs, const std::string& from, const std::string& to, const Account& a) {
    if (!fs.exists(from)) {
        return;
    }
    for (const auto& name : fs.list(from)) {
        const auto stat = fs.stat(from + "/" + name);
        if (!stat) {
            continue;
        }
        const std::string target = to + "/" + name;
        if (stat->type == FileStat::Type::directory) {
            fs.mkdir_p(target);
            copy_skel(fs, from + "/" + name, target, a);
        } else if (stat->type == FileStat::Type::regular) {
            fs.write(target, fs.read(from + "/" + name));
        } else {
            continue;
        }
        fs.chmod(target, stat->mode);
        fs.chown(target, a.uid, a.gid);
    }
}

} // namespace

Account create_account(ImageFs& fs, const std::string& name, std::int64_t today) {
    const std::string passwd = fs.read("/etc/passwd");
    const std::string group = fs.read("/etc/group");
    Account a{name, first_free(ids_in(passwd), 1000), 0, "/home/" + name};
    a.gid = first_free(ids_in(group), a.uid);

    std::set<std::string> extra;
    for (auto line : text::split_lines(group)) {
        const std::string g(line.substr(0, line.find(':')));
        if (std::find(std::begin(first_user_groups), std::end(first_user_groups), g) !=
            std::end(first_user_groups)) {
            extra.insert(g);
        }
    }
    fs.write("/etc/passwd", with_newline(passwd) + fmt::format("{}:x:{}:{}:,,,:{}:/bin/bash\n",
                                                               name, a.uid, a.gid, a.home));
    fs.write("/etc/group", add_member(group, extra, name) + fmt::format("{}:x:{}:\n", name, a.gid));
    fs.write("/etc/shadow", with_newline(fs.read_if_exists("/etc/shadow").value_or("")) +
                                fmt::format("{}:!:{}:0:99999:7:::\n", name, today));
    if (auto gshadow = fs.read_if_exists("/etc/gshadow")) {
        fs.write("/etc/gshadow", add_member(*gshadow, extra, name) + name + ":!::\n");
    }

    fs.mkdir_p(a.home);
    fs.chmod(a.home, 0700);
    fs.chown(a.home, a.uid, a.gid);
    copy_skel(fs, "/etc/skel", a.home, a);
    // Raspberry Pi OS's first-user wizard (userconf-pi) asks for a user at first boot
    // when the image has none; this one has.
    const std::string wizard =
        std::string(unit_dir) + "/multi-user.target.wants/userconfig.service";
    if (fs.stat(wizard)) {
        fs.remove(wizard);
    }
    if (fs.exists("/etc/sudoers.d")) {
        const std::string sudoers = fmt::format("/etc/sudoers.d/010_{}-nopasswd", name);
        fs.write(sudoers, fmt::format("{} ALL=(ALL) NOPASSWD: ALL\n", name));
        fs.chmod(sudoers, 0440);
    }
    return a;
}

} // namespace pimint::steps
