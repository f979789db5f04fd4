// A cluster from the 64-bit trixie test image (cloud-init, no user, machine-id
// "uninitialized"): the shipped recipe makes pi on every node, and each node's
// cloud-init is told to keep what pimint wrote, with a seed and an instance of its own.
#include "temp_dir.hpp"
#include "test_image.hpp"

#include <doctest/doctest.h>
#include <pimint/cluster/cluster.hpp>
#include <pimint/image/appliance.hpp>
#include <set>

using namespace pimint;

TEST_CASE("every trixie node has pi, its own cloud-init seed, and first boot still to come") {
    const auto base = test::test_image("trixie", "arm64");
    test::TempDir dir;
    const std::string shipped =
        std::string(std::getenv("PIMINT_SOURCE_ROOT")) + "/recipes/raspbian-node.toml";
    ClusterOptions options;
    options.recipe = shipped;
    options.base = base;
    options.output_dir = dir / "out";
    options.workers = 1;
    const ClusterResult result = build_cluster(options);
    REQUIRE(result.nodes.size() == 2);

    Appliance appliance;
    std::vector<int> drives;
    for (const auto& node : result.nodes) {
        drives.push_back(appliance.add_image(node.image, Access::read_only));
    }
    appliance.launch();
    std::set<std::string> instances;
    for (size_t i = 0; i < drives.size(); ++i) {
        const std::string hostname = result.nodes[i].node.hostname;
        INFO(hostname);
        const Layout& layout = appliance.mount(drives[i]);
        ImageFs& fs = appliance.fs();
        CHECK(fs.read("/etc/hostname") == hostname + "\n");
        CHECK(fs.read("/etc/passwd").find("\npi:x:1000:1000:") != std::string::npos);
        CHECK(fs.exists("/home/pi/.ssh/authorized_keys"));
        // First boot is still to come: systemd makes the machine-id, the root grows.
        CHECK(fs.read("/etc/machine-id") == "uninitialized\n");

        const std::string config = fs.read("/etc/cloud/cloud.cfg.d/99_zz-pimint.cfg");
        for (const char* line :
             {"\npreserve_hostname: true\n", "\nmanage_etc_hosts: false\n", "\nusers: []\n",
              "\nssh_deletekeys: false\n", "\nnetwork:\n  config: disabled\n"}) {
            CHECK(config.find(line) != std::string::npos);
        }
        const std::string boot = layout.boot_mount;
        const std::string meta = fs.read(boot + "/meta-data");
        CHECK(meta.find("\nlocal-hostname: " + hostname + "\n") != std::string::npos);
        const auto id_at = meta.find("instance-id: ");
        REQUIRE(id_at != std::string::npos);
        const std::string id = meta.substr(id_at + 13, meta.find('\n', id_at) - id_at - 13);
        CHECK(id.starts_with("pimint-" + hostname + "-"));
        instances.insert(id);
        // The instance on the kernel command line, where Imager put one, is the same.
        const std::string cmdline = fs.read(boot + "/cmdline.txt");
        CHECK(cmdline.find(" ds=nocloud;i=" + id) != std::string::npos);
        CHECK(cmdline.find(" resize ") != std::string::npos);
        CHECK(fs.read(boot + "/user-data").starts_with("#cloud-config\n"));
    }
    appliance.shutdown();
    CHECK(instances.size() == 2);
}
