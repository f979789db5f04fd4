// A class file plans every cluster (name, host name prefix, subnet, addresses) before
// any image is read; its mistakes are file:line:col errors, and shards split the clusters
// deterministically, each cluster in exactly one shard.
#include "disk_image.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>
#include <pimint/cluster/classroom.hpp>
#include <pimint/core/error.hpp>

using namespace pimint;
using test::TempDir;
using test::write_file;

namespace {

std::string error_of(const TempDir& dir, const std::string& classroom) {
    write_file(dir / "class.toml", classroom);
    try {
        load_classroom(dir / "class.toml");
    } catch (const Error& e) {
        CHECK(e.category() == ErrorCategory::recipe);
        return e.what();
    }
    FAIL("the class file loaded without an error");
    return {};
}

} // namespace

TEST_CASE("clusters get numbered names, prefixes, subnets and gateways") {
    TempDir dir;
    write_file(dir / "cluster.toml", "[cluster]\n");
    write_file(dir / "class.toml", "[classroom]\nrecipe = \"cluster.toml\"\nclusters = 12\n"
                                   "subnet = \"10.0.{number}.0/24\"\ngateway_host = 254\n"
                                   "set = [\"wifi.country=FR\"]\n");
    const ClassroomSpec spec = load_classroom(dir / "class.toml");
    REQUIRE(spec.clusters_planned.size() == 12);
    const PlannedCluster& c = spec.clusters_planned[11];
    CHECK(c.number == 12);
    CHECK(c.name == "cluster12");
    CHECK(c.hostname_prefix == "c12-");
    CHECK(c.subnet == "10.0.12.0/24");
    CHECK(c.first_address == "10.0.12.10");
    CHECK(c.gateway == "10.0.12.254");
    CHECK(spec.overrides == std::vector<std::string>{"wifi.country=FR"});
    CHECK(spec.recipe == dir / "cluster.toml");
}

TEST_CASE("class file mistakes name the file, line and fix") {
    TempDir dir;
    write_file(dir / "cluster.toml", "[cluster]\n");
    const std::string file = (dir / "class.toml").string();
    CHECK(error_of(dir, "[classroom]\nrecipe = \"cluster.toml\"\nclustres = 2\n") ==
          file + ":3:1: unknown key 'clustres' in [classroom] (did you mean 'clusters'?)");
    CHECK(error_of(dir, "[classroom]\nrecipe = \"nope.toml\"\n")
              .starts_with(file + ":2:10: classroom.recipe: "));
    CHECK(error_of(dir, "[classroom]\nrecipe = \"cluster.toml\"\nname = \"lab\"\n")
              .find("include {number}") != std::string::npos);
    CHECK(error_of(dir, "[classroom]\nrecipe = \"cluster.toml\"\nname = \"c{nmber}\"\n")
              .starts_with(file + ":3:8: classroom.name: the only placeholder here is {number}"));
    // 300 clusters cannot all have a 192.168.N.0/24 subnet.
    CHECK(error_of(dir, "[classroom]\nrecipe = \"cluster.toml\"\nclusters = 300\n")
              .find("cluster 256") != std::string::npos);
    CHECK(error_of(dir, "[classroom]\nrecipe = \"cluster.toml\"\nfirst_host = 300\n")
              .find("outside 192.168.1.0/24") != std::string::npos);
    CHECK(error_of(dir, "[cluster]\n").find("unknown table [cluster]") != std::string::npos);
}

TEST_CASE("shards cover every cluster exactly once") {
    for (int count = 1; count <= 5; ++count) {
        for (int cluster = 1; cluster <= 17; ++cluster) {
            int owners = 0;
            for (int index = 1; index <= count; ++index) {
                owners += Shard::parse(std::to_string(index) + "/" + std::to_string(count))
                                  .includes(cluster)
                              ? 1
                              : 0;
            }
            CHECK(owners == 1);
        }
    }
    for (const char* bad : {"0/2", "3/2", "2", "a/b", "1/0", "1/2x", ""}) {
        CHECK_THROWS_AS(Shard::parse(bad), Error);
    }
}

TEST_CASE("the shipped class file plans eight clusters") {
    const ClassroomSpec spec =
        load_classroom(std::string(std::getenv("PIMINT_SOURCE_ROOT")) + "/recipes/classroom.toml");
    REQUIRE(spec.clusters_planned.size() == 8);
    CHECK(spec.workers == 3);
    CHECK(spec.clusters_planned[7].subnet == "10.0.8.0/24");
    CHECK(spec.clusters_planned[7].gateway == "10.0.8.1");
}
