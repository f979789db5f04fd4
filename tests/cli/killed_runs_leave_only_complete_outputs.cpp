// Random-kill trials of `pimint cluster`: runs on one output directory are stopped with
// SIGINT, SIGTERM or SIGKILL at random moments (at least 20 trials; PIMINT_KILL_TRIALS
// for more). A recipe value changes every other trial, so runs alternate between
// replacing the images of the one before and resuming its work. After every stop, each
// image under its final name must be complete: listed in manifest.json and SHA256SUMS
// with its size and sha256. Runs stopped by SIGINT/SIGTERM leave no temporary file; those
// left by SIGKILL are gone after the next run. The base image is never changed, and no
// private key reaches a log, the manifest or SHA256SUMS. Runs on different directories
// proceed in parallel; a second run on one directory fails at once.
#include "disk_image.hpp"
#include "run.hpp"
#include "temp_dir.hpp"
#include "test_image.hpp"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <pimint/core/files.hpp>
#include <random>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace pimint;

namespace {

struct Outcome {
    int signal = 0;     // the signal that ended the run, or 0
    int exit_code = -1; // when it exited
    double seconds = 0;
};

// Starts `pimint cluster` and sends `sig` after `delay` unless it ended before.
Outcome run_and_stop(const std::vector<std::string>& args, std::chrono::milliseconds delay, int sig,
                     const std::filesystem::path& log) {
    const auto t0 = std::chrono::steady_clock::now();
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::freopen("/dev/null", "w", stdout);
        ::freopen(log.c_str(), "w", stderr);
        std::vector<char*> argv;
        for (const auto& a : args) {
            argv.push_back(const_cast<char*>(a.c_str()));
        }
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    int status = 0;
    bool sent = false;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
        if (!sent && std::chrono::steady_clock::now() - t0 >= delay) {
            ::kill(pid, sig);
            sent = true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    Outcome o;
    o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (WIFSIGNALED(status)) {
        o.signal = WTERMSIG(status);
    } else {
        o.exit_code = WEXITSTATUS(status);
    }
    return o;
}

std::vector<std::filesystem::path> temporaries(const std::filesystem::path& dir) {
    std::vector<std::filesystem::path> out;
    if (!std::filesystem::exists(dir)) {
        return out;
    }
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        if (e.path().filename().string().starts_with(AtomicOutput::temp_prefix)) {
            out.push_back(e.path());
        }
    }
    return out;
}

// The sha256 of a file, hashed again only when its inode, size or mtime changed.
std::string file_sha256(const std::filesystem::path& file) {
    static std::map<std::string, std::string> known;
    struct stat st {};
    REQUIRE(::stat(file.c_str(), &st) == 0);
    const std::string key = fmt::format("{} {} {} {}.{}", file.string(), st.st_ino, st.st_size,
                                        st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    auto it = known.find(key);
    if (it == known.end()) {
        it = known.emplace(key, sha256_file(file)).first;
    }
    return it->second;
}

// Every image under its final name is complete: the manifest and SHA256SUMS list it with
// its size and hash. Returns the problems found.
std::vector<std::string> incomplete_outputs(const std::filesystem::path& dir) {
    std::vector<std::string> problems;
    if (!std::filesystem::exists(dir)) {
        return problems;
    }
    std::map<std::string, nlohmann::json> listed;
    if (std::filesystem::exists(dir / "manifest.json")) {
        const auto manifest = nlohmann::json::parse(test::read_file(dir / "manifest.json"));
        for (const auto& n : manifest["nodes"]) {
            listed[n["image"].get<std::string>()] = n;
        }
    }
    std::map<std::string, std::string> sums;
    if (std::filesystem::exists(dir / "SHA256SUMS")) {
        std::istringstream in(test::read_file(dir / "SHA256SUMS"));
        std::string hash, name;
        while (in >> hash >> name) {
            sums[name] = hash;
        }
    }
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        if (!name.ends_with(".img") || name.starts_with(AtomicOutput::temp_prefix)) {
            continue;
        }
        const auto it = listed.find(name);
        if (it == listed.end()) {
            problems.push_back(name + " is not in manifest.json");
            continue;
        }
        const std::string actual = file_sha256(e.path());
        if (it->second["size"].get<std::uint64_t>() != std::filesystem::file_size(e.path()) ||
            it->second["sha256"].get<std::string>() != actual) {
            problems.push_back(name + " does not match manifest.json");
        }
        if (sums[name] != actual) {
            problems.push_back(name + " does not match SHA256SUMS");
        }
    }
    return problems;
}

// DIR/cluster.toml: the shipped node recipe, a master and one worker.
void write_cluster_recipe(const test::TempDir& dir) {
    const std::string shipped =
        std::string(std::getenv("PIMINT_SOURCE_ROOT")) + "/recipes/raspbian-node.toml";
    test::write_file(dir / "cluster.toml",
                     "include = [\"" + shipped + "\"]\n[cluster]\nworkers = 1\n");
}

// `pimint cluster` on DIR/cluster.toml into `out`, with `extra` options.
std::vector<std::string> cluster_command(const test::TempDir& dir,
                                         const std::filesystem::path& base,
                                         const std::filesystem::path& out,
                                         const std::vector<std::string>& extra) {
    std::vector<std::string> args{
        test::pimint_exe(), "cluster",     (dir / "cluster.toml").string(),
        "--base",           base.string(), "-o",
        out.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

} // namespace

TEST_CASE("runs killed at random moments leave only complete images under final names") {
    const auto base = test::test_image("stretch");
    const std::string base_sha = sha256_file(base);
    test::TempDir dir;
    write_cluster_recipe(dir);
    const auto out = dir / "out";
    const auto args = [&](int trial, const char* verbosity = "--quiet") {
        // A new value changes every image's inputs: that run replaces all images.
        return cluster_command(
            dir, base, out,
            {verbosity, "--set",
             trial / 2 % 2 == 0 ? "timezone.zone=Europe/Paris" : "timezone.zone=Europe/Rome"});
    };
    std::filesystem::create_directory(dir / "logs");
    const auto log = [&](int trial) { return dir / "logs" / fmt::format("run-{}", trial); };

    // A whole run first, for the time range the stops are drawn from.
    const Outcome whole = run_and_stop(args(2), std::chrono::hours(1), SIGKILL, log(-1));
    REQUIRE(whole.exit_code == 0);
    CHECK(incomplete_outputs(out).empty());

    const char* env_trials = std::getenv("PIMINT_KILL_TRIALS");
    const int trials = std::max(20, env_trials ? std::atoi(env_trials) : 20);
    const auto seed =
        static_cast<unsigned>(std::chrono::system_clock::now().time_since_epoch().count());
    INFO("seed ", seed);
    std::mt19937 random(seed);
    std::uniform_real_distribution<double> moment(0.0, whole.seconds);
    const int signals[] = {SIGINT, SIGTERM, SIGKILL};
    std::map<std::string, int> stops;
    int corrupt = 0;
    for (int trial = 0; trial < trials; ++trial) {
        const int sig = signals[random() % 3];
        const double at = moment(random);
        const Outcome o = run_and_stop(
            args(trial), std::chrono::milliseconds(static_cast<int>(at * 1000)), sig, log(trial));
        INFO(fmt::format("trial {}: {} after {:.1f} s; log: {}", trial, strsignal(sig), at,
                         test::read_file(log(trial))));
        if (sig == SIGKILL) {
            CHECK((o.signal == SIGKILL || o.exit_code == 0));
        } else {
            // Stopped cleanly (130), or finished before the signal came.
            CHECK((o.exit_code == 130 || o.exit_code == 0));
            CHECK(temporaries(out).empty());
        }
        ++stops[o.exit_code == 0 ? "finished first" : strsignal(sig)];
        const auto problems = incomplete_outputs(out);
        for (const auto& p : problems) {
            FAIL_CHECK(p);
        }
        corrupt += problems.empty() ? 0 : 1;
    }

    // A last whole run completes the cluster and clears what SIGKILL left behind.
    const Outcome last =
        run_and_stop(args(trials, "--verbose"), std::chrono::hours(1), SIGKILL, log(trials));
    REQUIRE(last.exit_code == 0);
    CHECK(temporaries(out).empty());
    CHECK(incomplete_outputs(out).empty());
    CHECK(nlohmann::json::parse(test::read_file(out / "manifest.json"))["complete"] == true);
    CHECK(sha256_file(base) == base_sha);

    // The private keys live only in .pimint/keys.json (0600); no log of any run, nor the
    // manifest or SHA256SUMS, holds any part of one.
    const auto keys_file = out / ".pimint" / "keys.json";
    CHECK((std::filesystem::status(keys_file).permissions() & std::filesystem::perms::all) ==
          (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
    const auto keys = nlohmann::json::parse(test::read_file(keys_file));
    std::vector<std::string> private_keys{keys["user"]["private_key"].get<std::string>()};
    for (const auto& [host, list] : keys["hosts"].items()) {
        for (const auto& k : list) {
            private_keys.push_back(k["private_key"].get<std::string>());
        }
    }
    std::vector<std::filesystem::path> published{out / "manifest.json", out / "SHA256SUMS"};
    for (const auto& e : std::filesystem::directory_iterator(dir / "logs")) {
        published.push_back(e.path());
    }
    CHECK(test::read_file(log(trials)).find("hashing") != std::string::npos); // verbose
    for (const auto& file : published) {
        const std::string text = test::read_file(file);
        INFO(file);
        CHECK(text.find("PRIVATE KEY") == std::string::npos);
        for (const auto& key : private_keys) {
            // The second line of the PEM body: random key bytes, in every form of the key.
            const size_t body = key.find('\n') + 1;
            CHECK(text.find(key.substr(body, 48)) == std::string::npos);
        }
    }

    std::string summary;
    for (const auto& [what, count] : stops) {
        summary += fmt::format("{} {}, ", count, what);
    }
    MESSAGE(fmt::format("{} trials ({}a whole run {:.1f} s): {} with corrupt outputs", trials,
                        summary, whole.seconds, corrupt));
    CHECK(corrupt == 0);
}

TEST_CASE("runs on two directories proceed together; a second run on one fails at once") {
    const auto base = test::test_image("stretch");
    test::TempDir dir;
    write_cluster_recipe(dir);
    const auto args = [&](const std::string& out) {
        return cluster_command(dir, base, dir / out, {"--quiet"});
    };
    auto first = std::async(std::launch::async, [&] {
        return run_and_stop(args("a"), std::chrono::hours(1), SIGKILL, dir / "a.log");
    });
    auto second = std::async(std::launch::async, [&] {
        return run_and_stop(args("b"), std::chrono::hours(1), SIGKILL, dir / "b.log");
    });
    // Once the first run holds its directory, a third run on it stops at once.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!std::filesystem::exists(dir / "a" / ".pimint" / "lock") &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::this_thread::sleep_for(std::chrono::seconds(2));
    const auto t0 = std::chrono::steady_clock::now();
    const auto third = test::run(args("a"));
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10));
    CHECK(third.exit_code == 5);
    CHECK(test::without_progress(third.err) ==
          fmt::format("pimint: {}: another pimint run is writing this directory; "
                      "wait for it to end or use another output directory\n",
                      (dir / "a").string()));

    const Outcome a = first.get();
    const Outcome b = second.get();
    INFO(test::read_file(dir / "a.log") << test::read_file(dir / "b.log"));
    CHECK(a.exit_code == 0);
    CHECK(b.exit_code == 0);
    CHECK(incomplete_outputs(dir / "a").empty());
    CHECK(incomplete_outputs(dir / "b").empty());
    CHECK(std::filesystem::exists(dir / "a" / "worker001.img"));
    CHECK(std::filesystem::exists(dir / "b" / "worker001.img"));
}
