// `pimint classroom` for 2 clusters x 2 workers as a teacher runs it: interrupted with
// Ctrl-C once the first cluster is done, then run again. The rerun keeps the first
// cluster, finishes the second, and the two clusters share no key.
#include "disk_image.hpp"
#include "run.hpp"
#include "temp_dir.hpp"
#include "test_image.hpp"

#include <chrono>
#include <csignal>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <set>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace pimint;

namespace {

bool cluster_complete(const std::filesystem::path& dir) {
    try {
        return nlohmann::json::parse(test::read_file(dir / "manifest.json"))["complete"] == true;
    } catch (const std::exception&) {
        return false; // not written yet
    }
}

std::set<std::string> public_keys(const std::filesystem::path& cluster_dir) {
    const auto keys = nlohmann::json::parse(test::read_file(cluster_dir / ".pimint" / "keys.json"));
    std::set<std::string> out{keys["user"]["public_key"].get<std::string>()};
    for (const auto& [host, list] : keys["hosts"].items()) {
        for (const auto& k : list) {
            out.insert(k["public_key"].get<std::string>().substr(0, 80));
        }
    }
    return out;
}

// DIR/class.toml: 2 clusters x 2 workers of the shipped raspbian-node recipe, plus `extra`
// class keys.
void write_class(const test::TempDir& dir, const std::string& extra) {
    const std::string shipped =
        std::string(std::getenv("PIMINT_SOURCE_ROOT")) + "/recipes/raspbian-node.toml";
    test::write_file(dir / "cluster.toml", "include = [\"" + shipped + "\"]\n[cluster]\n");
    test::write_file(dir / "class.toml", "[classroom]\nrecipe = \"cluster.toml\"\n"
                                         "clusters = 2\nworkers = 2\n"
                                         "subnet = \"10.{number}.0.0/24\"\n" +
                                             extra);
}

} // namespace

TEST_CASE("a class of two clusters resumes after Ctrl-C and shares no key across clusters") {
    const auto base = test::test_image("stretch");
    test::TempDir dir;
    write_class(dir, "gateway_host = 1\n");
    const auto out = dir / "class";

    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::freopen("/dev/null", "w", stdout);
        ::freopen((dir / "stderr").c_str(), "w", stderr);
        ::execl(test::pimint_exe().c_str(), "pimint", "classroom", (dir / "class.toml").c_str(),
                "--base", base.c_str(), "-o", out.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(20);
    while (!cluster_complete(out / "cluster01") && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    REQUIRE(cluster_complete(out / "cluster01"));
    ::kill(pid, SIGINT);
    int status = 0;
    ::waitpid(pid, &status, 0);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 130);
    CHECK_FALSE(cluster_complete(out / "cluster02"));
    CHECK_FALSE(std::filesystem::exists(out / "labels.csv"));

    const auto rerun = test::run({test::pimint_exe(), "classroom", (dir / "class.toml").string(),
                                  "--base", base.string(), "-o", out.string(), "--json"});
    INFO(rerun.err);
    REQUIRE(rerun.exit_code == 0);
    const auto report = nlohmann::json::parse(rerun.out);
    REQUIRE(report["clusters"].size() == 2);
    for (const auto& node : report["clusters"][0]["nodes"]) {
        CHECK(node["reused"] == true); // the first cluster was finished before Ctrl-C
    }
    CHECK(cluster_complete(out / "cluster02"));
    CHECK(report["summary_written"] == true);

    CHECK(test::read_file(out / "labels.csv") ==
          "cluster,node,hostname,address,image\n"
          "cluster01,master,c01-master,10.1.0.10,cluster01/master.img\n"
          "cluster01,worker 1,c01-worker001,10.1.0.11,cluster01/c01-worker001.img\n"
          "cluster01,worker 2,c01-worker002,10.1.0.12,cluster01/c01-worker002.img\n"
          "cluster02,master,c02-master,10.2.0.10,cluster02/master.img\n"
          "cluster02,worker 1,c02-worker001,10.2.0.11,cluster02/c02-worker001.img\n"
          "cluster02,worker 2,c02-worker002,10.2.0.12,cluster02/c02-worker002.img\n");
    const auto first = public_keys(out / "cluster01");
    const auto second = public_keys(out / "cluster02");
    CHECK(first.size() == 10); // one user key and three host keys for each of three nodes
    for (const auto& k : second) {
        CHECK(first.count(k) == 0);
    }

    // A shard makes only its share and leaves the summary to the final run.
    const auto shard =
        test::run({test::pimint_exe(), "classroom", (dir / "class.toml").string(), "--base",
                   base.string(), "-o", out.string(), "--shard", "2/2", "--json"});
    REQUIRE(shard.exit_code == 0);
    const auto sharded = nlohmann::json::parse(shard.out);
    REQUIRE(sharded["clusters"].size() == 1);
    CHECK(sharded["clusters"][0]["name"] == "cluster02");
    CHECK(sharded["summary_written"] == false);
}

TEST_CASE("a classroom makes the steps its clusters share once, for all of them") {
    const auto base = test::test_image("stretch");
    test::TempDir dir;
    write_class(dir, "");
    const auto out = dir / "class";
    const auto r = test::run({test::pimint_exe(), "classroom", (dir / "class.toml").string(),
                              "--base", base.string(), "-o", out.string(), "--json", "-v"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const auto count = [&](const std::string& line) {
        size_t n = 0;
        for (size_t at = 0; (at = r.err.find(line, at)) != std::string::npos; at += line.size()) {
            ++n;
        }
        return n;
    };
    CHECK(count("applying the steps shared by cluster.toml's nodes") == 1);
    CHECK(count("the steps shared by cluster.toml's nodes: stage kept from an earlier cluster") ==
          1);
    const auto report = nlohmann::json::parse(r.out);
    REQUIRE(report["clusters"].size() == 2);
    CHECK(report["clusters"][1]["nodes"][0]["hostname"] == "c02-master");
    CHECK(cluster_complete(out / "cluster01"));
    CHECK(cluster_complete(out / "cluster02"));
    // The stage, kept in cluster01 under a temporary name while cluster02 used it, is gone.
    for (const auto& e : std::filesystem::recursive_directory_iterator(out)) {
        CHECK_FALSE(e.path().filename().string().starts_with(".pimint-tmp"));
    }
}
