// addressing = "dhcp": no address is planned or written; nodes reach each other as
// NAME.local through mDNS, so the machinefile and known_hosts use those names, and an
// image without avahi-daemon is refused before any output appears. (The test image has
// no avahi: its daemon does not configure inside debootstrap's emulated second stage. The
// accepted case uses a copy given what pimint looks for, as Raspberry Pi OS ships it:
// /usr/sbin/avahi-daemon and mdns in nsswitch.conf.)
#include "disk_image.hpp"
#include "temp_dir.hpp"
#include "test_image.hpp"

#include <doctest/doctest.h>
#include <pimint/cluster/cluster.hpp>
#include <pimint/core/error.hpp>
#include <pimint/core/files.hpp>

using namespace pimint;

namespace {

void write_recipe(const test::TempDir& dir) {
    const std::string shipped =
        std::string(std::getenv("PIMINT_SOURCE_ROOT")) + "/recipes/raspbian-node.toml";
    test::write_file(dir / "cluster.toml", "include = [\"" + shipped +
                                               "\"]\n[cluster]\naddressing = \"dhcp\"\n"
                                               "workers = 1\nslots = 2\n");
}

// A copy of the test image with avahi-daemon and nss-mdns in place.
std::filesystem::path image_with_mdns(const test::TempDir& dir) {
    const auto image = dir / "mdns.img";
    sparse_copy(test::test_image("stretch"), image);
    Appliance rw;
    const int d = rw.add_image(image, Access::read_write);
    rw.launch();
    rw.mount(d);
    rw.fs().write("/usr/sbin/avahi-daemon", "#!/bin/sh\n");
    rw.fs().chmod("/usr/sbin/avahi-daemon", 0755);
    rw.fs().write(
        "/etc/nsswitch.conf",
        "passwd: files\ngroup: files\nhosts: files mdns4_minimal [NOTFOUND=return] dns\n");
    rw.shutdown();
    return image;
}

} // namespace

TEST_CASE("with DHCP the plan has no addresses and names end in .local") {
    ClusterSpec spec;
    spec.addressing = "dhcp";
    spec.subnet = "192.168.1.0/29"; // too small for 301 static addresses; DHCP needs none
    spec.workers = 300;
    const auto nodes = plan_cluster(spec);
    REQUIRE(nodes.size() == 301);
    CHECK(nodes[0].address.empty());
    CHECK(nodes[0].reach_name == "master.local");
    CHECK(nodes[300].reach_name == "worker300.local");
}

TEST_CASE("a DHCP cluster lists its nodes by mDNS name") {
    test::TempDir dir;
    const auto base = image_with_mdns(dir);
    write_recipe(dir);
    ClusterOptions options;
    options.recipe = dir / "cluster.toml";
    options.base = base;
    options.output_dir = dir / "out";
    const ClusterResult result = build_cluster(options);
    REQUIRE(result.nodes.size() == 2);

    Appliance ro;
    const int master = ro.add_image(dir / "out" / "master.img", Access::read_only);
    const int worker = ro.add_image(dir / "out" / "worker001.img", Access::read_only);
    ro.launch();
    ro.mount(master);
    CHECK(ro.fs().read("/home/pi/machinefile") == "master.local:2\nworker001.local:2\n");
    const std::string known = ro.fs().read("/home/pi/.ssh/known_hosts");
    CHECK(known.find("worker001,worker001.local ssh-ed25519 ") != std::string::npos);
    CHECK(known.find("master,master.local ssh-rsa ") != std::string::npos);
    ro.mount(worker);
    const std::string hosts = ro.fs().read("/etc/hosts");
    CHECK(hosts.find("127.0.1.1\tworker001\n") != std::string::npos);
    CHECK(hosts.find("192.168.") == std::string::npos);
    CHECK(ro.fs().read("/etc/dhcpcd.conf").find("static ip_address") == std::string::npos);
    ro.shutdown();
}

TEST_CASE("DHCP on an image without avahi-daemon is refused, leaving no output") {
    test::TempDir dir;
    write_recipe(dir);
    ClusterOptions options;
    options.recipe = dir / "cluster.toml";
    options.base = test::test_image("stretch");
    options.output_dir = dir / "out";
    CHECK_THROWS_WITH_AS(build_cluster(options), doctest::Contains("has no avahi-daemon"), Error);
    CHECK_FALSE(std::filesystem::exists(dir / "out" / "master.img"));
    for (const auto& e : std::filesystem::directory_iterator(dir / "out")) {
        CHECK_FALSE(e.path().filename().string().starts_with(".pimint-tmp."));
    }
}
