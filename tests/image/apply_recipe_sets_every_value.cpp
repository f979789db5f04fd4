// Applies a recipe covering every built-in step to both layouts of the test image, then
// reads each result back through a separate read-only appliance. Also: applying twice
// changes nothing, the base image is never modified, and a recipe that needs more
// space than the image has fails before anything is written.
#include "disk_image.hpp"
#include "temp_dir.hpp"
#include "test_image.hpp"

#include <crypt.h>
#include <doctest/doctest.h>
#include <fstream>
#include <map>
#include <memory>
#include <pimint/core/error.hpp>
#include <pimint/image/inspect.hpp>
#include <pimint/image/partition_table.hpp>
#include <pimint/recipe/apply.hpp>

using namespace pimint;

namespace {

// IEEE 802.11i-2004, H.4.3: passphrase "password", SSID "IEEE".
constexpr const char* expected_psk =
    "f42c6fc52df0ebef9ebb4b90b38a5f902e83fe1b135a70e23aed762e9710a12e";
constexpr const char* key =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHtJ4EPg2/dlcqDc0xhl5+cHuK4iyTHRRzrjmEwNyDkE test@pimint";

// With `network_manager`, an included recipe first makes the image look like one that
// runs NetworkManager (the daemon and its enabled unit), so the later steps choose it.
std::string recipe_text(const test::TempDir& dir, bool network_manager) {
    const std::string shipped =
        std::string(std::getenv("PIMINT_SOURCE_ROOT")) + "/recipes/raspbian-node.toml";
    test::write_file(
        dir / "nm.toml",
        "[[files]]\npath = \"/usr/sbin/NetworkManager\"\ncontent = \"#!/bin/sh\\n\"\nmode = "
        "\"0755\"\n"
        "[[files]]\npath = \"/etc/systemd/system/multi-user.target.wants/NetworkManager.service\"\n"
        "content = \"\"\n");
    std::string text = "include = [" + std::string(network_manager ? "\"nm.toml\", " : "") + "\"" +
                       shipped + "\"]\n";
    text += "[user]\npassword = \"cluster-pass\"\nauthorized_keys = [\"" + std::string(key) +
            "\"]\n"
            "[wifi]\nssid = \"IEEE\"\npassphrase = \"password\"\n"
            "[network]\naddress = \"192.168.1.10/24\"\ngateway = \"192.168.1.1\"\ndns = "
            "[\"192.168.1.1\", \"9.9.9.9\"]\n"
            "[[files]]\npath = \"/etc/motd\"\ncontent = \"Welcome to {hostname}\\n\"\nmode = "
            "\"0640\"\nowner = \"pi:adm\"\n"
            "[firstboot]\ncommands = [\"echo first boot on {hostname}\"]\n";
    return text;
}

// The test image's libcrypt is libxcrypt's (bookworm), so new passwords are yescrypt.
bool password_matches(const std::string& shadow_line, const std::string& password) {
    const auto first = shadow_line.find(':');
    const std::string hash =
        shadow_line.substr(first + 1, shadow_line.find(':', first + 1) - first - 1);
    auto data = std::make_unique<crypt_data>();
    const char* out = crypt_r(password.c_str(), hash.c_str(), data.get());
    return hash.starts_with("$y$") && out != nullptr && hash == out;
}

std::string line_starting(const std::string& text, const std::string& prefix) {
    const auto pos = text.find("\n" + prefix);
    if (pos == std::string::npos) {
        return text.starts_with(prefix) ? text.substr(0, text.find('\n')) : "";
    }
    return text.substr(pos + 1, text.find('\n', pos + 1) - pos - 1);
}

size_t count(const std::string& text, const std::string& needle) {
    size_t n = 0;
    for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
        ++n;
    }
    return n;
}

// The files the recipe writes, for comparing two applications.
const char* touched[] = {"/etc/hostname",
                         "/etc/hosts",
                         "/etc/locale.gen",
                         "/etc/default/locale",
                         "/etc/default/keyboard",
                         "/etc/timezone",
                         "/etc/shadow",
                         "/etc/dhcpcd.conf",
                         "/etc/wpa_supplicant/wpa_supplicant.conf",
                         "/home/pi/.bashrc",
                         "/home/pi/.ssh/authorized_keys",
                         "/etc/motd",
                         "/etc/ssh/sshd_config",
                         "/var/lib/pimint/pimint-firstboot.sh",
                         "/etc/systemd/system/pimint-locale-gen.service"};

} // namespace

TEST_CASE("apply sets every value on both layouts, idempotently, leaving the base alone") {
    const auto stretch = test::test_image("stretch");
    const auto bookworm = test::test_image("bookworm");
    const std::string stretch_sum = sha256_file(stretch);
    test::TempDir dir;
    test::write_file(dir / "stretch.toml", recipe_text(dir, false));
    test::write_file(dir / "bookworm.toml", recipe_text(dir, true));
    const std::vector<std::string> sets{"hostname.name=node7", "ssh.password_login=false"};

    const Recipe stretch_recipe = Recipe::load(dir / "stretch.toml", sets);
    const ApplyReport report = apply(stretch_recipe, stretch, dir / "stretch.img");
    MESSAGE("apply on the stretch layout: "
            << report.total_seconds << " s, of which appliance launch " << report.launch_seconds
            << " s (" << report.backend << ")");
    CHECK(report.grown_bytes == 256ULL << 20);
    // Growing rewrites the partition table; the disk signature that cmdline.txt's and
    // fstab's PARTUUID= name must survive it, or the card does not boot.
    CHECK(read_partition_table(dir / "stretch.img").disk_id ==
          read_partition_table(stretch).disk_id);
    apply(Recipe::load(dir / "bookworm.toml", sets), bookworm, dir / "bookworm.img");
    apply(stretch_recipe, dir / "stretch.img", dir / "twice.img");
    CHECK(sha256_file(stretch) == stretch_sum);
    for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
        CHECK_FALSE(entry.path().filename().string().starts_with(AtomicOutput::temp_prefix));
    }

    Appliance ro;
    const int base = ro.add_image(stretch, Access::read_only);
    const int s = ro.add_image(dir / "stretch.img", Access::read_only);
    const int b = ro.add_image(dir / "bookworm.img", Access::read_only);
    const int twice = ro.add_image(dir / "twice.img", Access::read_only);
    ro.launch();

    ro.mount(base);
    const std::uint64_t base_total = ro.fs().space("/").total_bytes;
    std::map<std::string, std::string> first;
    for (int index : {s, b}) {
        const bool nm = index == b;
        const Layout layout = ro.mount(index);
        ImageFs& fs = ro.fs();
        INFO("layout " << layout.name());
        const ImageInfo info = inspect_mounted(ro, index, layout);
        CHECK(info.hostname == "node7");
        CHECK(info.ssh_enabled);
        CHECK(info.locale == "en_GB.UTF-8");
        CHECK(info.keyboard_layout == "gb");
        CHECK(info.keyboard_model == "pc105");
        CHECK(info.timezone == "Europe/London");
        CHECK(info.wifi_country == "GB");

        CHECK(fs.exists(layout.boot_mount + "/ssh"));
        CHECK(fs.readlink("/etc/systemd/system/multi-user.target.wants/ssh.service")
                  .ends_with("/ssh.service"));
        const std::string sshd = fs.read("/etc/ssh/sshd_config");
        if (sshd.find("Include /etc/ssh/sshd_config.d/*.conf") != std::string::npos) {
            CHECK(fs.read("/etc/ssh/sshd_config.d/pimint.conf") == "PasswordAuthentication no\n");
        } else {
            CHECK(sshd.starts_with("# BEGIN pimint ssh\nPasswordAuthentication no\n"));
        }

        CHECK(line_starting(fs.read("/etc/locale.gen"), "en_GB.UTF-8") == "en_GB.UTF-8 UTF-8");
        CHECK(fs.exists("/etc/systemd/system/multi-user.target.wants/pimint-locale-gen.service"));
        CHECK(fs.read("/var/lib/pimint/pimint-locale-gen.sh").find("locale-gen") !=
              std::string::npos);
        CHECK(fs.readlink("/etc/localtime") == "/usr/share/zoneinfo/Europe/London");

        const std::string hosts = fs.read("/etc/hosts");
        CHECK(hosts.find("127.0.1.1\tnode7\n") != std::string::npos);
        CHECK(hosts.find("raspberrypi") == std::string::npos);

        CHECK(password_matches(line_starting(fs.read("/etc/shadow"), "pi:"), "cluster-pass"));
        CHECK(fs.stat("/home/pi/.ssh")->mode == 0700);
        const auto keys = fs.stat("/home/pi/.ssh/authorized_keys");
        REQUIRE(keys.has_value());
        CHECK(keys->mode == 0600);
        CHECK(keys->uid == 1000);
        CHECK(keys->gid == 1000);
        CHECK(fs.read("/home/pi/.ssh/authorized_keys") == std::string(key) + "\n");
        CHECK(count(fs.read("/home/pi/.bashrc"),
                    "export PATH=$PATH:/home/pi/mpich2-install/bin\n") == 1);

        const auto motd = fs.stat("/etc/motd");
        CHECK(fs.read("/etc/motd") == "Welcome to node7\n");
        CHECK(motd->mode == 0640);
        CHECK(motd->uid == 1000);
        CHECK(motd->gid == 4); // adm in the image's /etc/group
        CHECK(fs.read("/var/lib/pimint/pimint-firstboot.sh").find("echo first boot on node7\n") !=
              std::string::npos);
        CHECK(fs.exists("/etc/systemd/system/multi-user.target.wants/pimint-firstboot.service"));

        if (nm) {
            const std::string eth =
                fs.read("/etc/NetworkManager/system-connections/pimint-eth0.nmconnection");
            CHECK(eth.find("address1=192.168.1.10/24,192.168.1.1\n") != std::string::npos);
            CHECK(eth.find("dns=192.168.1.1;9.9.9.9;\n") != std::string::npos);
            const std::string wifi =
                fs.read("/etc/NetworkManager/system-connections/pimint-wifi.nmconnection");
            CHECK(wifi.find(std::string("psk=") + expected_psk) != std::string::npos);
            CHECK(
                fs.stat("/etc/NetworkManager/system-connections/pimint-wifi.nmconnection")->mode ==
                0600);
            CHECK(fs.read(layout.boot_mount + "/cmdline.txt")
                      .find(" cfg80211.ieee80211_regdom=GB\n") != std::string::npos);
            CHECK(fs.read("/etc/dhcpcd.conf").find("pimint") == std::string::npos);
        } else {
            const std::string dhcpcd = fs.read("/etc/dhcpcd.conf");
            CHECK(dhcpcd.find("interface eth0\nstatic ip_address=192.168.1.10/24\nstatic "
                              "routers=192.168.1.1\n"
                              "static domain_name_servers=192.168.1.1 9.9.9.9\n") !=
                  std::string::npos);
            const std::string wpa = fs.read("/etc/wpa_supplicant/wpa_supplicant.conf");
            CHECK(wpa.find("country=GB\n") != std::string::npos);
            CHECK(wpa.find(std::string("psk=") + expected_psk) != std::string::npos);
            CHECK(wpa.find("password") == std::string::npos);
            CHECK(fs.stat("/etc/wpa_supplicant/wpa_supplicant.conf")->mode == 0600);
            for (const char* path : touched) {
                first[path] = fs.read_if_exists(path).value_or("(absent)");
            }
        }
        const std::uint64_t grown = fs.space("/").total_bytes - base_total;
        CHECK(grown > 240ULL << 20);
        CHECK(grown <= 256ULL << 20);
    }

    ro.mount(twice);
    for (const char* path : touched) {
        INFO(path);
        CHECK(ro.fs().read_if_exists(path).value_or("(absent)") == first[path]);
    }
    ro.shutdown();
}

TEST_CASE("a recipe needing more space than the image has fails before writing, naming the step") {
    const auto base = test::test_image("stretch");
    test::TempDir dir;
    { std::ofstream big(dir / "big.bin"); }
    std::filesystem::resize_file(dir / "big.bin", 3ULL << 30); // sparse: nothing is read
    test::write_file(
        dir / "r.toml",
        "[hostname]\nname = \"full\"\n[[files]]\npath = \"/opt/big.bin\"\nsource = \"big.bin\"\n");
    try {
        apply(Recipe::load(dir / "r.toml"), base, dir / "out.img");
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.category() == ErrorCategory::image);
        CHECK(std::string(e.what()).find("step [files] needs 3145") != std::string::npos);
        CHECK(std::string(e.what()).find("grow") != std::string::npos);
    }
    CHECK_FALSE(std::filesystem::exists(dir / "out.img"));
    for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
        CHECK_FALSE(entry.path().filename().string().starts_with(AtomicOutput::temp_prefix));
    }
}
