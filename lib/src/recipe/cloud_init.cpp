#include "recipe/cloud_init.hpp"

#include "core/text.hpp"
#include "pimint/core/files.hpp"

#include <fmt/format.h>

namespace pimint {
namespace {

// After Raspberry Pi OS's own 99_raspberry-pi.cfg, so that on a key both set ours wins.
constexpr const char* config_path = "/etc/cloud/cloud.cfg.d/99_zz-pimint.cfg";

constexpr const char* system_config =
    "# Written by pimint. This card was set up before its first boot: host name, network,\n"
    "# users and SSH host keys are as pimint wrote them, and cloud-init keeps them so.\n"
    "# (Configuration here outranks the network-config of the seed in the boot\n"
    "# partition; only the kernel command line outranks it.)\n"
    "preserve_hostname: true\n"
    "manage_etc_hosts: false\n"
    "users: []\n"
    "ssh_deletekeys: false\n"
    "network:\n"
    "  config: disabled\n";

// "ds=nocloud;i=old;s=..." with the instance named `id`; other words unchanged.
std::string with_instance_on_cmdline(const std::string& cmdline, const std::string& id) {
    std::string out;
    for (auto word : text::split_ws(cmdline)) {
        std::string w(word);
        if (w.starts_with("ds=nocloud")) {
            std::string rebuilt;
            size_t at = 0;
            while (at <= w.size()) {
                const size_t semi = std::min(w.find(';', at), w.size());
                std::string part = w.substr(at, semi - at);
                if (part.starts_with("i=")) {
                    part = "i=" + id;
                }
                rebuilt += (rebuilt.empty() ? "" : ";") + part;
                at = semi + 1;
            }
            w = rebuilt;
        }
        out += (out.empty() ? "" : " ") + w;
    }
    return out + "\n";
}

} // namespace

bool runs_cloud_init(ImageFs& fs) {
    return fs.exists("/usr/bin/cloud-init") && fs.exists("/etc/cloud/cloud.cfg");
}

std::string cloud_init_instance_id(const NodeContext& node) {
    const std::string digest = sha256_text(
        fmt::format("pimint instance\n{}\n{}\n{}\n", node.cluster, node.hostname, node.ip));
    return fmt::format("pimint-{}-{}", node.hostname, digest.substr(0, 12));
}

void agree_with_cloud_init(ImageFs& fs, const Layout& layout, const NodeContext& node) {
    if (!runs_cloud_init(fs)) {
        return;
    }
    fs.mkdir_p("/etc/cloud/cloud.cfg.d");
    fs.write(config_path, system_config);
    fs.chmod(config_path, 0644);

    const std::string id = cloud_init_instance_id(node);
    const std::string boot = layout.boot_mount;
    fs.write(boot + "/meta-data",
             fmt::format("# Written by pimint: this node's own instance.\ninstance-id: {}\n"
                         "local-hostname: {}\n",
                         id, node.hostname));
    fs.write(boot + "/user-data",
             fmt::format("#cloud-config\n"
                         "# Written by pimint: {} was set up before its first boot (see\n"
                         "# /etc/cloud/cloud.cfg.d/99_zz-pimint.cfg); nothing to change.\n"
                         "hostname: {}\n"
                         "preserve_hostname: true\n",
                         node.hostname, node.hostname));
    fs.write(boot + "/network-config",
             "# Written by pimint: the network is configured in the image itself\n"
             "# (/etc/cloud/cloud.cfg.d/99_zz-pimint.cfg turns cloud-init's network\n"
             "# configuration off), so nothing is configured here.\n"
             "network:\n"
             "  version: 2\n");
    const std::string cmdline_path = boot + "/cmdline.txt";
    if (auto cmdline = fs.read_if_exists(cmdline_path);
        cmdline && cmdline->find("ds=nocloud") != std::string::npos) {
        const std::string first = std::string(text::split_lines(*cmdline).front());
        fs.write(cmdline_path, with_instance_on_cmdline(first, id));
    }
}

} // namespace pimint
