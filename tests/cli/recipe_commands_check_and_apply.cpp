// `pimint check` and `pimint apply` as a user runs them: a valid recipe, bad recipes
// with their one-line file:line:col errors and exit code 3, a dry run that opens no
// image, and the README's scenario: apply the shipped recipe, then inspect the result.
#include "disk_image.hpp"
#include "run.hpp"
#include "temp_dir.hpp"
#include "test_image.hpp"

#include <algorithm>
#include <csignal>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <pimint/core/files.hpp>
#include <sys/wait.h>
#include <unistd.h>

using namespace pimint;
using test::RunResult;

namespace {

RunResult run_pimint(std::vector<std::string> args) {
    args.insert(args.begin(), test::pimint_exe());
    return test::run(args);
}

std::string shipped_recipe() {
    return std::string(std::getenv("PIMINT_SOURCE_ROOT")) + "/recipes/raspbian-node.toml";
}

} // namespace

TEST_CASE("check accepts the shipped recipe and lists its steps") {
    const auto r = run_pimint({"check", shipped_recipe()});
    CHECK(r.exit_code == 0);
    CHECK(
        r.out.find("ok (8 steps: image, ssh, locale, keyboard, timezone, wifi, hostname, user)") !=
        std::string::npos);
}

TEST_CASE("bad recipes: one line, file:line:col, exit code 3") {
    test::TempDir dir;
    test::write_file(dir / "typo.toml", "[keyboard]\nlayuot = \"gb\"\n");
    const auto r = run_pimint({"check", (dir / "typo.toml").string()});
    CHECK(r.exit_code == 3);
    CHECK(r.err == "pimint: " + (dir / "typo.toml").string() +
                       ":2:1: unknown key 'layuot' in [keyboard] (did you mean 'layout'?)\n");
    const auto set =
        run_pimint({"check", shipped_recipe(), "--set", "timezone.zone=Mars/Olympus Mons"});
    CHECK(set.exit_code == 3);
    CHECK(set.err.starts_with("pimint: --set timezone.zone: timezone.zone:"));
    CHECK(run_pimint({"check", (dir / "missing.toml").string()}).exit_code == 3);
}

TEST_CASE("apply --dry-run prints the plan without an image") {
    const auto r =
        run_pimint({"apply", shipped_recipe(), "--base", "/nonexistent.img", "--dry-run"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("2. [ssh]\n     /boot/ssh\n") != std::string::npos);
    CHECK(r.out.find("/etc/default/keyboard") != std::string::npos);
}

TEST_CASE("apply refuses to overwrite its input and needs an output") {
    const auto image = test::test_image("stretch");
    const auto same =
        run_pimint({"apply", shipped_recipe(), "--base", image.string(), "-o", image.string()});
    CHECK(same.exit_code == 2);
    CHECK(same.err.find("never modifies its input") != std::string::npos);
    CHECK(run_pimint({"apply", shipped_recipe(), "--base", image.string()}).exit_code == 2);
    test::TempDir dir;
    const auto no_dir = run_pimint({"apply", shipped_recipe(), "--base", image.string(), "-o",
                                    (dir / "no" / "such" / "dir.img").string()});
    CHECK(no_dir.exit_code == 5);
    CHECK(no_dir.err.find("output directory does not exist") != std::string::npos);
}

TEST_CASE("Ctrl-C during apply: exit 130, no output and no temporary file left") {
    const auto image = test::test_image("stretch");
    test::TempDir dir;
    const std::string out = (dir / "node.img").string();
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::freopen("/dev/null", "w", stdout);
        ::freopen((dir / "stderr").c_str(), "w", stderr);
        ::execl(test::pimint_exe().c_str(), "pimint", "apply", shipped_recipe().c_str(), "--base",
                image.c_str(), "-o", out.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::sleep(6); // inside the copy or the appliance launch
    ::kill(pid, SIGINT);
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 130);
    CHECK(test::without_progress(test::read_file(dir / "stderr")) ==
          "pimint: interrupted; temporary files removed, finished outputs kept\n");
    CHECK_FALSE(std::filesystem::exists(out));
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
        CHECK_FALSE(e.path().filename().string().starts_with(".pimint-tmp."));
    }
}

TEST_CASE("apply the shipped recipe, then inspect shows every value") {
    const auto image = test::test_image("stretch");
    const std::string before = sha256_file(image);
    test::TempDir dir;
    const auto out = dir / "node.img";
    const auto applied =
        run_pimint({"apply", shipped_recipe(), "--base", image.string(), "-o", out.string(),
                    "--set", "hostname.name=pi42", "--set", "wifi.country=FR", "--json"});
    INFO(applied.err);
    REQUIRE(applied.exit_code == 0);
    const auto report = nlohmann::json::parse(applied.out);
    MESSAGE("pimint apply: " << report["total_seconds"] << " s, appliance launch "
                             << report["launch_seconds"] << " s");
    CHECK(report["steps"].size() == 8);

    const auto inspected = run_pimint({"inspect", "--json", out.string()});
    REQUIRE(inspected.exit_code == 0);
    const auto j = nlohmann::json::parse(inspected.out);
    CHECK(j["hostname"] == "pi42");
    CHECK(j["ssh"]["enabled"] == true);
    CHECK(j["locale"]["lang"] == "en_GB.UTF-8");
    CHECK(j["keyboard"]["layout"] == "gb");
    CHECK(j["timezone"] == "Europe/London");
    CHECK(j["wifi_country"] == "FR");
    CHECK(sha256_file(image) == before);
}
