// `build_cluster` with 3 workers from the test image: four images whose files, read back
// through one read-only appliance, agree on names, addresses and keys.
#include "disk_image.hpp"
#include "temp_dir.hpp"
#include "test_image.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <pimint/cluster/cluster.hpp>
#include <pimint/core/error.hpp>
#include <pimint/core/files.hpp>
#include <set>

using namespace pimint;

namespace {

std::string strip_comment(const std::string& public_key_line) {
    std::string line = public_key_line.substr(0, public_key_line.find('\n'));
    return line.substr(0, line.rfind(' '));
}

} // namespace

TEST_CASE(
    "a master and three workers share hosts, machinefile and keys, each with its own identity") {
    const auto base = test::test_image("stretch");
    const std::string base_sum = sha256_file(base);
    test::TempDir dir;
    const std::string shipped =
        std::string(std::getenv("PIMINT_SOURCE_ROOT")) + "/recipes/raspbian-node.toml";
    test::write_file(dir / "cluster.toml",
                     "include = [\"" + shipped +
                         "\"]\n[cluster]\nname = \"lab\"\n"
                         "subnet = \"10.0.0.0/24\"\nfirst_address = \"10.0.0.20\"\n"
                         "gateway = \"10.0.0.1\"\nslots = 2\n");
    ClusterOptions options;
    options.recipe = dir / "cluster.toml";
    options.base = base;
    options.output_dir = dir / "out";
    options.workers = 3;
    const ClusterResult result = build_cluster(options);
    MESSAGE("cluster of 4 images: " << result.total_seconds << " s, one appliance launch "
                                    << result.launch_seconds << " s");
    REQUIRE(result.nodes.size() == 4);
    CHECK(sha256_file(base) == base_sum);

    const std::vector<std::pair<std::string, std::string>> expected{{"master", "10.0.0.20"},
                                                                    {"worker001", "10.0.0.21"},
                                                                    {"worker002", "10.0.0.22"},
                                                                    {"worker003", "10.0.0.23"}};

    // manifest.json and SHA256SUMS agree with the files.
    const auto manifest = nlohmann::json::parse(test::read_file(dir / "out" / "manifest.json"));
    const std::string sums = test::read_file(dir / "out" / "SHA256SUMS");
    REQUIRE(manifest["nodes"].size() == 4);
    for (size_t i = 0; i < 4; ++i) {
        const auto& n = manifest["nodes"][i];
        CHECK(n["hostname"] == expected[i].first);
        CHECK(n["address"] == expected[i].second);
        const std::string image = n["image"];
        CHECK(n["sha256"] == sha256_file(dir / "out" / image));
        CHECK(sums.find(std::string(n["sha256"]) + "  " + image + "\n") != std::string::npos);
        CHECK(n["host_keys"].size() == 3);
    }
    CHECK(manifest["base_sha256"] == base_sum);
    CHECK(test::read_file(dir / "out" / "manifest.json").find("PRIVATE KEY") == std::string::npos);

    Appliance ro;
    std::vector<int> drives;
    for (const auto& [host, address] : expected) {
        drives.push_back(ro.add_image(dir / "out" / (host + ".img"), Access::read_only));
    }
    ro.launch();
    std::string master_public;
    std::string known_hosts;
    std::set<std::string> host_keys;
    std::set<std::string> seeds;
    std::vector<std::string> node_host_keys;
    for (size_t i = 0; i < drives.size(); ++i) {
        ro.mount(drives[i]);
        ImageFs& fs = ro.fs();
        const auto& [host, address] = expected[i];
        INFO("node " << host);
        CHECK(fs.read("/etc/hostname") == host + "\n");
        const std::string hosts = fs.read("/etc/hosts");
        for (const auto& [h, a] : expected) {
            CHECK(hosts.find(a + "\t" + h + "\n") != std::string::npos);
        }
        CHECK(hosts.find("127.0.1.1") == std::string::npos);
        CHECK(fs.read("/etc/dhcpcd.conf")
                  .find("static ip_address=" + address + "/24\nstatic routers=10.0.0.1\n") !=
              std::string::npos);
        CHECK(fs.read("/etc/machine-id").empty());
        seeds.insert(fs.read("/var/lib/systemd/random-seed"));
        CHECK_FALSE(fs.exists(
            "/etc/systemd/system/multi-user.target.wants/regenerate_ssh_host_keys.service"));
        for (const char* type : {"ed25519", "rsa", "ecdsa"}) {
            const std::string key = std::string("/etc/ssh/ssh_host_") + type + "_key";
            CHECK(fs.stat(key)->mode == 0600);
            CHECK(fs.read(key).find("PRIVATE KEY") != std::string::npos);
            const std::string pub = strip_comment(fs.read(key + ".pub"));
            CHECK(host_keys.insert(pub).second); // unique across nodes
            node_host_keys.push_back(host + "," + address + " " + pub);
        }
        const std::string authorized = fs.read("/home/pi/.ssh/authorized_keys");
        CHECK(fs.stat("/home/pi/.ssh/authorized_keys")->mode == 0600);
        if (i == 0) {
            const auto id = fs.stat("/home/pi/.ssh/id_rsa");
            REQUIRE(id.has_value());
            CHECK(id->mode == 0600);
            CHECK(id->uid == 1000);
            CHECK(fs.read("/home/pi/.ssh/id_rsa").find("BEGIN OPENSSH PRIVATE KEY") !=
                  std::string::npos);
            master_public = strip_comment(fs.read("/home/pi/.ssh/id_rsa.pub"));
            CHECK(master_public.starts_with("ssh-rsa "));
            known_hosts = fs.read("/home/pi/.ssh/known_hosts");
            CHECK(fs.read("/home/pi/machinefile") ==
                  "master:2\nworker001:2\nworker002:2\nworker003:2\n");
        } else {
            CHECK_FALSE(fs.exists("/home/pi/.ssh/id_rsa"));
            CHECK_FALSE(fs.exists("/home/pi/machinefile"));
        }
        CHECK(authorized.find(master_public) != std::string::npos); // workers trust the master
    }
    ro.shutdown();
    CHECK(seeds.size() == 4);
    for (const auto& line : node_host_keys) {
        CHECK(known_hosts.find(line + "\n") !=
              std::string::npos); // the master knows every host key
    }
}

TEST_CASE("cluster plans are checked before any image is made") {
    ClusterSpec spec;
    spec.subnet = "192.168.1.0/29";
    spec.first_address = "192.168.1.2";
    spec.workers = 5; // .2-.6 are the only host addresses: 6 nodes do not fit
    CHECK_THROWS_WITH_AS(plan_cluster(spec), doctest::Contains("holds only 5"), Error);
    spec.workers = 4;
    const auto nodes = plan_cluster(spec);
    CHECK(nodes.back().address == "192.168.1.6");
    CHECK(nodes.back().image_name == "worker004.img");
    spec.gateway = "192.168.1.3";
    CHECK_THROWS_AS(plan_cluster(spec), Error); // the gateway's address is skipped, so one too few
}
