// The overlay layout: stage.img once and a small qcow2 overlay per node. Each overlay
// reads, on the host and in the appliance, as the full image the manifest hashes; the
// node's own files are in it; a rerun keeps the stage and the overlays, --add-workers
// adds overlays on the same stage, and a directory keeps the layout it was made with.
#include "disk_image.hpp"
#include "image/disk_image_reader.hpp"
#include "temp_dir.hpp"
#include "test_image.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <pimint/cards/burn.hpp>
#include <pimint/cluster/cluster.hpp>
#include <pimint/core/error.hpp>
#include <pimint/core/files.hpp>
#include <pimint/image/appliance.hpp>
#include <sys/stat.h>

using namespace pimint;

namespace {

std::uint64_t allocated(const std::filesystem::path& p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return static_cast<std::uint64_t>(st.st_blocks) * 512;
}

// /etc/hostname of each image, read through the appliance (qemu reads the overlays).
std::vector<std::string> hostnames(const std::vector<std::filesystem::path>& images) {
    Appliance ro;
    std::vector<int> drives;
    for (const auto& image : images) {
        drives.push_back(ro.add_image(image, Access::read_only));
    }
    ro.launch();
    std::vector<std::string> out;
    for (const int d : drives) {
        ro.mount(d);
        out.push_back(ro.fs().read("/etc/hostname"));
    }
    ro.shutdown();
    return out;
}

} // namespace

TEST_CASE("an overlay cluster holds one stage and an overlay per node") {
    const auto base = test::test_image("stretch");
    test::TempDir dir;
    const std::string shipped =
        std::string(std::getenv("PIMINT_SOURCE_ROOT")) + "/recipes/raspbian-node.toml";
    test::write_file(dir / "cluster.toml",
                     "include = [\"" + shipped + "\"]\n[cluster]\nworkers = 2\nslots = 1\n");
    ClusterOptions options;
    options.recipe = dir / "cluster.toml";
    options.base = base;
    options.output_dir = dir / "out";
    options.layout = ImageLayout::overlay;
    const ClusterResult first = build_cluster(options);
    REQUIRE(first.nodes.size() == 3);
    MESSAGE("master + 2 workers as overlays: " << first.total_seconds << " s");
    const auto out = dir / "out";
    const auto manifest = nlohmann::json::parse(test::read_file(out / "manifest.json"));
    CHECK(manifest["layout"] == "overlay");
    REQUIRE(manifest["stages"].size() == 1);
    CHECK(manifest["stages"][0]["file"] == "stage.img");
    CHECK(manifest["stages"][0]["sha256"] == sha256_file(out / "stage.img"));

    {
        INFO("each overlay is small, and reads as the full image the manifest hashes");
        std::string sums = test::read_file(out / "SHA256SUMS");
        CHECK(sums.starts_with(sha256_file(out / "stage.img") + "  stage.img\n"));
        for (const auto& n : first.nodes) {
            INFO(n.node.hostname);
            CHECK(n.image.extension() == ".qcow2");
            CHECK(n.backing == "stage.img");
            CHECK(n.overlay_sha256 == sha256_file(n.image));
            CHECK(sums.find(n.overlay_sha256 + "  " + n.image.filename().string()) !=
                  std::string::npos);
            const auto disk = DiskImageReader::open(n.image);
            CHECK(disk->size() == std::filesystem::file_size(out / "stage.img"));
            CHECK(n.size == disk->size());
            CHECK(sha256_disk(*disk) == n.sha256);
            CHECK(allocated(n.image) * 10 < allocated(out / "stage.img"));
            struct stat st {};
            REQUIRE(::stat(n.image.c_str(), &st) == 0);
            CHECK((st.st_mode & 0777) == 0600);
        }
        CHECK(hostnames({first.nodes[0].image, first.nodes[2].image}) ==
              std::vector<std::string>{"master\n", "worker002\n"});
    }

    {
        INFO("materialized through burn_card, a node is a raw image with the manifest's hash");
        const BurnSource node = burn_source(out, "worker001");
        CHECK(node.sha256 == first.nodes[1].sha256);
        const BurnResult written = burn_card(node, probe_target(dir / "worker001.img"));
        CHECK(written.sha256 == first.nodes[1].sha256);
        CHECK(sha256_file(dir / "worker001.img") == first.nodes[1].sha256);
        CHECK(allocated(dir / "worker001.img") < written.image_size);
        CHECK(hostnames({dir / "worker001.img"}) == std::vector<std::string>{"worker001\n"});
    }

    {
        INFO("a rerun keeps the stage and the overlays; --add-workers adds one on the stage");
        const auto stage_mtime = test::mtime_ns(out / "stage.img");
        const auto worker1_mtime = test::mtime_ns(out / "worker001.qcow2");
        options.layout.reset(); // as the directory holds it
        const ClusterResult again = build_cluster(options);
        for (const auto& n : again.nodes) {
            CHECK(n.reused);
        }
        CHECK(again.launch_seconds == 0);
        options.add_workers = 1;
        const ClusterResult grown = build_cluster(options);
        REQUIRE(grown.nodes.size() == 4);
        CHECK_FALSE(grown.nodes[0].reused);
        CHECK(grown.nodes[1].reused);
        CHECK_FALSE(grown.nodes[3].reused);
        CHECK(test::mtime_ns(out / "stage.img") == stage_mtime);
        CHECK(test::mtime_ns(out / "worker001.qcow2") == worker1_mtime);
        CHECK(sha256_disk(*DiskImageReader::open(out / "worker003.qcow2")) ==
              grown.nodes[3].sha256);
        options.add_workers = 0;
    }

    {
        INFO("a directory keeps its layout");
        options.layout = ImageLayout::full;
        CHECK_THROWS_WITH_AS(build_cluster(options),
                             doctest::Contains("holds a cluster in the overlay layout"), Error);
    }
}
