// A cluster output directory remembers its keys and what each image was made from: a
// rerun keeps finished images, --add-workers makes the next workers with the same master
// key and rebuilds only the master, and unique_disk_ids gives every image its own disk
// signature, filesystem UUIDs and matching PARTUUID references.
#include "disk_image.hpp"
#include "temp_dir.hpp"
#include "test_image.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <pimint/cluster/cluster.hpp>
#include <pimint/core/error.hpp>
#include <pimint/core/files.hpp>
#include <pimint/image/partition_table.hpp>
#include <set>
#include <sys/stat.h>

using namespace pimint;

namespace {

struct NodeFacts {
    std::string cmdline;
    std::string fstab;
    std::string root_uuid;
    std::string boot_uuid;
    std::string authorized_keys;
    std::string machinefile; // master only
    std::string known_hosts; // master only
};

std::vector<NodeFacts> read_nodes(const std::vector<std::filesystem::path>& images) {
    Appliance ro;
    std::vector<int> drives;
    for (const auto& image : images) {
        drives.push_back(ro.add_image(image, Access::read_only));
    }
    ro.launch();
    std::vector<NodeFacts> out;
    for (const int d : drives) {
        NodeFacts f;
        f.root_uuid = ro.filesystem_uuid(d, 2);
        f.boot_uuid = ro.filesystem_uuid(d, 1);
        const Layout& layout = ro.mount(d);
        ImageFs& fs = ro.fs();
        f.cmdline = fs.read(layout.boot_mount + "/cmdline.txt");
        f.fstab = fs.read("/etc/fstab");
        f.authorized_keys = fs.read_if_exists("/home/pi/.ssh/authorized_keys").value_or("");
        f.machinefile = fs.read_if_exists("/home/pi/machinefile").value_or("");
        f.known_hosts = fs.read_if_exists("/home/pi/.ssh/known_hosts").value_or("");
        out.push_back(std::move(f));
    }
    ro.shutdown();
    return out;
}

} // namespace

TEST_CASE("a rerun keeps finished images and --add-workers extends the cluster") {
    const auto base = test::test_image("stretch");
    const PartitionTable base_table = read_partition_table(base);
    test::TempDir dir;
    const std::string shipped =
        std::string(std::getenv("PIMINT_SOURCE_ROOT")) + "/recipes/raspbian-node.toml";
    test::write_file(dir / "cluster.toml", "include = [\"" + shipped +
                                               "\"]\n[cluster]\nworkers = 1\nslots = 1\n"
                                               "unique_disk_ids = true\n");
    ClusterOptions options;
    options.recipe = dir / "cluster.toml";
    options.base = base;
    options.output_dir = dir / "out";
    options.drives_per_launch = 1; // two images: two launches, as beyond 250 drives
    // One cluster goes through every stage in turn (each stage needs the one before).
    const ClusterResult first = build_cluster(options);
    REQUIRE(first.nodes.size() == 2);
    MESSAGE("2 images in two launches: " << first.total_seconds << " s");

    struct stat st {};
    REQUIRE(::stat((dir / "out" / ".pimint" / "keys.json").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    REQUIRE(::stat((dir / "out" / ".pimint").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    CHECK(nlohmann::json::parse(test::read_file(dir / "out" / "manifest.json"))["complete"] ==
          true);

    {
        INFO("every image has its own disk identity, and its references follow it");
        std::set<std::uint32_t> disk_ids{base_table.disk_id};
        std::vector<std::filesystem::path> images;
        for (const auto& n : first.nodes) {
            const PartitionTable t = read_partition_table(n.image);
            CHECK(disk_ids.insert(t.disk_id).second);
            images.push_back(n.image);
        }
        images.push_back(base);
        const auto facts = read_nodes(images);
        const NodeFacts& original = facts.back();
        std::set<std::string> root_uuids;
        std::set<std::string> boot_uuids;
        for (size_t i = 0; i < first.nodes.size(); ++i) {
            INFO("image " << first.nodes[i].image);
            const std::string partuuid =
                "PARTUUID=" + disk_id_hex(read_partition_table(first.nodes[i].image).disk_id);
            CHECK(facts[i].cmdline.find("root=" + partuuid + "-02") != std::string::npos);
            CHECK(facts[i].fstab.find(partuuid + "-01") != std::string::npos);
            CHECK(facts[i].fstab.find(partuuid + "-02") != std::string::npos);
            CHECK(facts[i].fstab.find(disk_id_hex(base_table.disk_id)) == std::string::npos);
            CHECK(facts[i].root_uuid != original.root_uuid);
            CHECK(facts[i].boot_uuid != original.boot_uuid);
            root_uuids.insert(facts[i].root_uuid);
            boot_uuids.insert(facts[i].boot_uuid);
        }
        CHECK(root_uuids.size() == 2);
        CHECK(boot_uuids.size() == 2);
    }

    {
        INFO("a rerun with the same inputs keeps every image untouched");
        const auto master_mtime = test::mtime_ns(dir / "out" / "master.img");
        const ClusterResult again = build_cluster(options);
        for (const auto& n : again.nodes) {
            CHECK(n.reused);
        }
        CHECK(again.launch_seconds == 0);
        CHECK(test::mtime_ns(dir / "out" / "master.img") == master_mtime);
        MESSAGE("rerun with nothing to do: " << again.total_seconds << " s");

        // A damaged image no longer matches its manifest entry: only it is made again.
        test::write_file(dir / "out" / "worker001.img", "truncated");
        const ClusterResult repaired = build_cluster(options);
        CHECK(repaired.nodes[0].reused);
        CHECK_FALSE(repaired.nodes[1].reused);
        CHECK(sha256_file(dir / "out" / "worker001.img") == repaired.nodes[1].sha256);
    }

    {
        INFO("added workers trust the same master, which is rebuilt to list them");
        const std::string keys_before = test::read_file(dir / "out" / ".pimint" / "keys.json");
        const auto worker1_mtime = test::mtime_ns(dir / "out" / "worker001.img");
        options.add_workers = 1;
        const ClusterResult grown = build_cluster(options);
        REQUIRE(grown.nodes.size() == 3);
        CHECK_FALSE(grown.nodes[0].reused); // master: new hosts, machinefile, known_hosts
        CHECK(grown.nodes[1].reused);
        CHECK_FALSE(grown.nodes[2].reused);
        CHECK(grown.nodes[2].node.hostname == "worker002");
        CHECK(test::mtime_ns(dir / "out" / "worker001.img") == worker1_mtime);
        const auto facts = read_nodes({dir / "out" / "master.img", dir / "out" / "worker001.img",
                                       dir / "out" / "worker002.img"});
        CHECK(facts[0].machinefile == "master:1\nworker001:1\nworker002:1\n");
        CHECK(facts[0].known_hosts.find("worker002,192.168.1.12 ssh-ed25519 ") !=
              std::string::npos);
        CHECK(facts[1].authorized_keys == facts[2].authorized_keys); // the same master key
        // The keys of the first nodes are the ones kept before.
        const auto before = nlohmann::json::parse(keys_before);
        const auto after =
            nlohmann::json::parse(test::read_file(dir / "out" / ".pimint" / "keys.json"));
        CHECK(after["user"] == before["user"]);
        CHECK(after["hosts"]["worker001"] == before["hosts"]["worker001"]);
        CHECK(after["hosts"].size() == 3);
        const auto manifest = nlohmann::json::parse(test::read_file(dir / "out" / "manifest.json"));
        CHECK(manifest["cluster"]["workers"] == 2);

        options.add_workers = 0;
        options.workers = 1;
        CHECK_THROWS_WITH_AS(build_cluster(options), doctest::Contains("cannot shrink"), Error);
    }
}
