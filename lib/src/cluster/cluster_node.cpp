#include "cluster/cluster_node.hpp"

#include "core/random_bytes.hpp"
#include "core/remove_on_exit.hpp"
#include "core/tar_writer.hpp"
#include "core/text.hpp"
#include "image/source_date.hpp"
#include "pimint/core/error.hpp"
#include "recipe/steps/support.hpp"

#include <ctime>
#include <fmt/format.h>
#include <unistd.h>

namespace pimint {
namespace {

// Raspbian's first-boot unit deletes and regenerates the host keys; with planned keys
// (which the master's known_hosts lists) it must not run.
constexpr const char* regenerate_link =
    "/etc/systemd/system/multi-user.target.wants/regenerate_ssh_host_keys.service";

// DHCP addressing works only where NAME.local resolves: avahi-daemon announces the
// node's name and nss-mdns looks the others up.
void require_mdns(ImageFs& fs) {
    const bool avahi = fs.exists("/usr/sbin/avahi-daemon");
    const bool nss =
        fs.read_if_exists("/etc/nsswitch.conf").value_or("").find("mdns") != std::string::npos;
    if (!avahi || !nss) {
        throw Error(
            ErrorCategory::recipe, "cluster.addressing",
            fmt::format("\"dhcp\" needs mDNS in the image so nodes find each other as "
                        "NAME.local, but it has no {}; use addressing = \"static\", or a "
                        "base image with avahi-daemon and libnss-mdns (Raspberry Pi OS "
                        "has both)",
                        avahi ? "mdns entry in /etc/nsswitch.conf (libnss-mdns)" : "avahi-daemon"));
    }
}

} // namespace

void install_node_identity(ImageFs& fs, const ClusterSpec& spec,
                           const std::vector<PlannedNode>& nodes, size_t index,
                           const ClusterKeys& keys, const std::filesystem::path& scratch_dir) {
    const PlannedNode& node = nodes[index];
    if (spec.addressing == "dhcp") {
        require_mdns(fs);
    }
    // Every file goes into one tar archive unpacked with one appliance call: under
    // emulation each call costs tens of milliseconds, and a node has some twenty files.
    // The archive holds private keys, so it lives in the output's private directory.
    const auto tar_path =
        scratch_dir / fmt::format("identity-{}-{}.tar", node.hostname, ::getpid());
    const RemoveOnExit remove_tar(tar_path);
    TarWriter tar(tar_path, 0600);
    const auto source_date = source_date_epoch();
    const std::int64_t now = source_date.value_or(std::time(nullptr));
    const auto add = [&](const std::string& path, const std::string& content, std::uint32_t mode,
                         std::uint32_t uid, std::uint32_t gid) {
        tar.add_file(path.substr(1), content, {mode, uid, gid, now});
    };

    for (const auto& key : keys.hosts.at(node.hostname).host_keys) {
        const std::string base = "/etc/ssh/ssh_host_" + key.type + "_key";
        add(base, key.private_key, 0600, 0, 0);
        add(base + ".pub", key.public_key + "\n", 0644, 0, 0);
    }
    fs.remove(regenerate_link);

    const steps::Account user = steps::find_account(fs, "");
    const std::string ssh_dir = user.home + "/.ssh";
    tar.add_directory(ssh_dir.substr(1), {0700, user.uid, user.gid, now});
    // Every node, the master included, lets the master user in.
    const std::string authorized = ssh_dir + "/authorized_keys";
    std::string content = steps::with_newline(fs.read_if_exists(authorized).value_or(""));
    if (content.find(keys.user->public_key) == std::string::npos) {
        content += keys.user->public_key + "\n";
    }
    add(authorized, content, 0600, user.uid, user.gid);

    if (node.role == "master") {
        const std::string id = ssh_dir + "/id_" + spec.key_type;
        add(id, keys.user->private_key, 0600, user.uid, user.gid);
        add(id + ".pub", keys.user->public_key + "\n", 0644, user.uid, user.gid);
        std::string known_hosts;
        std::string machinefile;
        for (size_t i = 0; i < nodes.size(); ++i) {
            for (const auto& key : keys.hosts.at(nodes[i].hostname).host_keys) {
                // "type base64" without the comment
                const std::string type_and_key =
                    key.public_key.substr(0, key.public_key.rfind(' '));
                // Every name ssh may be given for the node: its host name, the mDNS name
                // or the address, whichever the plan has.
                std::string names = nodes[i].hostname;
                for (const auto& alias : {nodes[i].reach_name, nodes[i].address}) {
                    if (!alias.empty() && alias != nodes[i].hostname) {
                        names += "," + alias;
                    }
                }
                known_hosts += fmt::format("{} {}\n", names, type_and_key);
            }
            machinefile += fmt::format("{}:{}\n", nodes[i].reach_name, spec.slots);
        }
        add(ssh_dir + "/known_hosts", known_hosts, 0644, user.uid, user.gid);
        add(user.home + "/machinefile", machinefile, 0644, user.uid, user.gid);
    }

    // Clones must not share identity: an empty machine-id is generated afresh at first
    // boot (identical ones make DHCP clients collide), and each node seeds its own RNG.
    // An image whose machine-id reads "uninitialized" (Raspberry Pi OS trixie) keeps it:
    // systemd then makes one too, and takes the boot as the first, which the root
    // partition's resize waits for. A reproducible build (SOURCE_DATE_EPOCH) cannot hold
    // a random seed: the base image's, which every clone would share, is removed, and
    // systemd makes one at first boot from the kernel's entropy.
    const bool first_boot_marker =
        fs.read_if_exists("/etc/machine-id").value_or("") == "uninitialized\n";
    add("/etc/machine-id", first_boot_marker ? "uninitialized\n" : "", 0444, 0, 0);
    if (auto st = fs.stat("/var/lib/dbus/machine-id"); st && st->type == FileStat::Type::regular) {
        fs.remove("/var/lib/dbus/machine-id");
    }
    if (source_date) {
        fs.remove("/var/lib/systemd/random-seed");
    } else if (fs.exists("/var/lib/systemd")) {
        add("/var/lib/systemd/random-seed", random_bytes(512), 0600, 0, 0);
    }
    tar.close();
    fs.tar_in(tar_path, "/");
}

} // namespace pimint
