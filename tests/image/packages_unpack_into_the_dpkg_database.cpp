// [packages] on the test image: hello, chrony and jq from the image's own apt sources
// (with the dependencies the image lacks) and a local package with a conffile and maintainer
// scripts are unpacked as a first `dpkg --unpack` leaves them, read back through libguestfs: the
// status database (every earlier entry unchanged), info/*.list naming files that are
// there, md5sums that match, conffiles as .dpkg-new, owners and modes, apt's
// auto-installed marks, and the first-boot job that finishes them. A second run takes
// everything from the cache, with the network cut off; a package that does not exist
// and an unreachable archive with an empty cache are one-line errors.
#include "packages/control_stanza.hpp"
#include "pimint/core/error.hpp"
#include "run.hpp"
#include "temp_dir.hpp"
#include "test_deb.hpp"
#include "test_image.hpp"

#include <algorithm>
#include <cstdlib>
#include <doctest/doctest.h>
#include <fstream>
#include <pimint/image/appliance.hpp>
#include <pimint/recipe/apply.hpp>

using namespace pimint;
namespace fs = std::filesystem;

namespace {

const Stanza* find(const std::vector<Stanza>& stanzas, const std::string& name) {
    const auto it = std::find_if(stanzas.begin(), stanzas.end(),
                                 [&](const Stanza& s) { return s.get("Package") == name; });
    return it == stanzas.end() ? nullptr : &*it;
}

std::string md5_of(const std::string& content, const fs::path& scratch) {
    std::ofstream(scratch, std::ios::binary) << content;
    const auto r = test::run({"md5sum", scratch.string()});
    REQUIRE(r.exit_code == 0);
    return r.out.substr(0, 32);
}

// Runs `body` with the environment variable set, restoring it afterwards.
template <typename F>
void with_env(const char* name, const std::string& value, F body) {
    const char* old = std::getenv(name);
    const std::string saved = old != nullptr ? old : "";
    ::setenv(name, value.c_str(), 1);
    try {
        body();
    } catch (...) {
        old != nullptr ? ::setenv(name, saved.c_str(), 1) : ::unsetenv(name);
        throw;
    }
    old != nullptr ? ::setenv(name, saved.c_str(), 1) : ::unsetenv(name);
}

} // namespace

TEST_CASE("packages are unpacked into the image and its dpkg database") {
    const auto base = test::test_image();
    test::TempDir dir;
    fs::create_directories(dir / "extra");
    test::TestDeb local;
    local.name = "pimint-test";
    local.extra_control = "Depends: hello\n";
    local.files = {{"etc/pimint-test.conf", "greeting = hello\n"}};
    local.executables = {{"usr/bin/pimint-test", "#!/bin/sh\nexec hello\n"}};
    local.scripts = {{"preinst", "#!/bin/sh\ntouch /var/lib/pimint-test-preinst\n"},
                     {"postinst", "#!/bin/sh\ntouch /var/lib/pimint-test-postinst\n"}};
    test::make_deb(local, dir / "extra");
    const auto recipe_file = dir / "packages.toml";
    std::ofstream(recipe_file)
        << "[packages]\ninstall = [\"chrony\", \"jq\"]\ndebs = [\"extra/*.deb\"]\n";
    const auto out = dir / "node.img";
    apply(Recipe::load(recipe_file), base, out);

    Appliance appliance;
    const int before = appliance.add_image(base, Access::read_only);
    const int after = appliance.add_image(out, Access::read_only);
    appliance.launch();
    appliance.mount(before);
    const std::string base_status = appliance.fs().read("/var/lib/dpkg/status");
    const bool merged_usr = appliance.fs().stat("/lib")->type == FileStat::Type::symlink;
    appliance.unmount();
    appliance.mount(after);
    ImageFs& fs = appliance.fs();

    const auto status = parse_stanzas(fs.read("/var/lib/dpkg/status"));
    const auto old = parse_stanzas(base_status);
    // Every entry the image had is still there, unchanged, in its place.
    REQUIRE(status.size() > old.size());
    for (std::size_t i = 0; i < old.size(); ++i) {
        CHECK(status[i].text() == old[i].text());
    }
    for (const char* name : {"hello", "chrony", "pimint-test"}) {
        INFO(name);
        const Stanza* s = find(status, name);
        REQUIRE(s != nullptr);
        CHECK(s->get("Status") == "install ok unpacked");
        CHECK(s->fields[1].first == "Status");
    }
    CHECK(find(status, "pimint-test")->get("Conffiles") == "\n /etc/pimint-test.conf newconffile");
    CHECK(find(status, "chrony")->get("Conffiles").find("\n /etc/default/chrony newconffile") !=
          std::string::npos);

    // The new packages: those after the image's own entries, dependencies included.
    std::vector<std::string> added;
    for (std::size_t i = old.size(); i < status.size(); ++i) {
        added.push_back(status[i].get("Package"));
    }
    CHECK(added.size() > 4); // jq brings libjq1 and libonig5, which the image lacks

    // Each package's file list names files that are there (conffiles as .dpkg-new).
    for (const auto& name : added) {
        INFO(name);
        const Stanza* s = find(status, name);
        // dpkg names a Multi-Arch: same package's files NAME:ARCH.
        const std::string info =
            s->get("Multi-Arch") == "same" ? name + ":" + s->get("Architecture") : name;
        const std::string list = fs.read("/var/lib/dpkg/info/" + info + ".list");
        CHECK(fs.exists("/var/lib/dpkg/info/" + info + ".md5sums"));
        const std::string conffiles = s->get("Conffiles");
        std::size_t at = 0;
        int checked = 0;
        while (at < list.size() && checked < 40) {
            const std::size_t end = list.find('\n', at);
            const std::string path = list.substr(at, end - at);
            at = end + 1;
            if (path == "/.") {
                continue;
            }
            const bool conffile = conffiles.find(" " + path + " ") != std::string::npos;
            CHECK_MESSAGE(fs.stat(conffile ? path + ".dpkg-new" : path).has_value(), path);
            if (conffile) {
                CHECK_FALSE(fs.stat(path).has_value());
            }
            ++checked;
        }
        CHECK(checked > 0);
    }
    // md5sums come from the package and match what was unpacked.
    const std::string md5sums = fs.read("/var/lib/dpkg/info/hello.md5sums");
    const auto line = md5sums.find("  usr/bin/hello\n");
    REQUIRE(line != std::string::npos);
    CHECK(md5sums.substr(line - 32, 32) == md5_of(fs.read("/usr/bin/hello"), dir / "hello"));

    // The local package: owners, modes, conffile, scripts.
    CHECK(fs.read("/etc/pimint-test.conf.dpkg-new") == "greeting = hello\n");
    const auto exe = fs.stat("/usr/bin/pimint-test");
    REQUIRE(exe.has_value());
    CHECK(exe->mode == 0755);
    CHECK(exe->uid == 0);
    CHECK(fs.stat("/var/lib/dpkg/info/pimint-test.postinst")->mode == 0755);
    CHECK(fs.read("/var/lib/dpkg/info/pimint-test.conffiles") == "/etc/pimint-test.conf\n");
    // It ships no md5sums: they are made as dpkg makes them, conffiles left out.
    CHECK(fs.read("/var/lib/dpkg/info/pimint-test.md5sums") ==
          md5_of("#!/bin/sh\nexec hello\n", dir / "exe") + "  usr/bin/pimint-test\n");
    CHECK_FALSE(fs.exists("/var/lib/pimint-test-preinst")); // nothing of it ran here
    if (merged_usr) {
        CHECK(fs.stat("/lib")->type == FileStat::Type::symlink);
    }

    // apt knows which packages only came as dependencies.
    const auto states = parse_stanzas(fs.read("/var/lib/apt/extended_states"));
    for (const auto& name : added) {
        const bool asked = name == "chrony" || name == "jq" || name == "pimint-test";
        INFO(name);
        CHECK((find(states, name) != nullptr) == !asked);
    }

    // The first-boot job: preinst in dependency order, then dpkg --configure -a.
    const std::string pending = fs.read("/var/lib/pimint/packages/preinst-pending");
    CHECK(pending.find("hello\n") < pending.find("pimint-test\n"));
    CHECK(fs.stat("/var/lib/pimint/packages/configure")->mode == 0700);
    CHECK(fs.read("/var/lib/pimint/packages/configure").find("dpkg --configure -a") !=
          std::string::npos);
    CHECK(fs.readlink("/etc/systemd/system/multi-user.target.wants/pimint-packages.service") ==
          "/etc/systemd/system/pimint-packages.service");
    appliance.shutdown();

    // A second run needs no network: the lists and packages come from the cache.
    with_env("http_proxy", "http://127.0.0.1:9",
             [&] { apply(Recipe::load(recipe_file), base, dir / "again.img"); });
    CHECK(fs::exists(dir / "again.img"));
}

TEST_CASE("a missing package or an unreachable archive is a one-line error") {
    const auto base = test::test_image();
    test::TempDir dir;
    const auto recipe_file = dir / "missing.toml";
    std::ofstream(recipe_file) << "[packages]\ninstall = [\"hello\", \"no-such-package-pimint\"]\n";
    try {
        apply(Recipe::load(recipe_file), base, dir / "missing.img");
        FAIL("applied");
    } catch (const Error& e) {
        CHECK(e.category() == ErrorCategory::recipe);
        CHECK(e.context() == recipe_file.string() + ":2:11");
        CHECK(e.message().find("Unable to locate package no-such-package-pimint") !=
              std::string::npos);
        CHECK(e.message().find('\n') == std::string::npos);
    }
    CHECK_FALSE(fs::exists(dir / "missing.img"));

    // An empty cache and no way to the archive.
    with_env("PIMINT_CACHE_DIR", (dir / "empty-cache").string(), [&] {
        with_env("http_proxy", "http://127.0.0.1:9", [&] {
            try {
                apply(Recipe::load(recipe_file), base, dir / "offline.img");
                FAIL("applied");
            } catch (const Error& e) {
                CHECK(e.category() == ErrorCategory::image);
                CHECK(e.message().find("cannot download the package lists") != std::string::npos);
                CHECK(e.message().find('\n') == std::string::npos);
            }
        });
    });
    CHECK_FALSE(fs::exists(dir / "offline.img"));
}

TEST_CASE("on a 64-bit trixie image, packages come from its deb822 sources, for arm64") {
    const auto base = test::test_image("trixie", "arm64");
    test::TempDir dir;
    const auto recipe_file = dir / "hello.toml";
    std::ofstream(recipe_file) << "[packages]\ninstall = [\"hello\"]\n";
    const auto out = dir / "node.img";
    apply(Recipe::load(recipe_file), base, out);

    Appliance appliance;
    appliance.add_image(out, Access::read_only);
    appliance.launch();
    appliance.mount(0);
    ImageFs& fs = appliance.fs();
    // Raspberry Pi OS trixie's way of naming its archive, which pimint read and left as is.
    const std::string sources = fs.read("/etc/apt/sources.list.d/debian.sources");
    CHECK(sources.find("Signed-By: /usr/share/keyrings/") != std::string::npos);
    const auto status = parse_stanzas(fs.read("/var/lib/dpkg/status"));
    const Stanza* hello = find(status, "hello");
    REQUIRE(hello != nullptr);
    CHECK(hello->get("Architecture") == "arm64");
    CHECK(hello->get("Status") == "install ok unpacked");
    CHECK(fs.read("/var/lib/dpkg/info/hello.list").find("/usr/bin/hello\n") != std::string::npos);
    // An AArch64 program: ELF class 64, machine 183.
    const std::string exe = fs.read("/usr/bin/hello");
    REQUIRE(exe.size() > 20);
    CHECK(exe.substr(0, 5) == "\x7f"
                              "ELF\x02");
    CHECK(static_cast<unsigned char>(exe[18]) == 183);
    appliance.shutdown();
}
