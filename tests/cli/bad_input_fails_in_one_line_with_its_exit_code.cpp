// The bad-input matrix of the CLI: every mistake a user can make in a recipe or a
// cluster spec, an image too full for the recipe and an image built for a PC rather than
// a Pi, ends with exactly one line on
// stderr naming the file (and line:column where there is one), the problem and the fix,
// a distinct exit code, nothing on stdout and nothing written to the output directory;
// so do a malformed SOURCE_DATE_EPOCH and a --keys directory without keys.
// (Bad images: inspect_command_reports_facts_and_errors; a full or read-only output
// directory: full_or_read_only_output_fails_cleanly.)
#include "disk_image.hpp"
#include "run.hpp"
#include "temp_dir.hpp"
#include "test_image.hpp"

#include <algorithm>
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <pimint/core/files.hpp>
#include <unistd.h>

using namespace pimint;

namespace {

struct Case {
    const char* name;
    const char* recipe;  // written to NAME.toml in the test directory
    const char* command; // "check" or "cluster"
    int exit_code;
    const char* expected; // stderr after "pimint: ", with {dir} for the test directory
};

// Written once for the cases that include another file.
void write_helpers(const test::TempDir& dir) {
    test::write_file(dir / "cycle_b.toml", "include = [\"include_cycle.toml\"]\n");
}

const Case cases[] = {
    {"syntax_error", "[ssh]\nenable = tru\n", "check", 3,
     "{dir}/syntax_error.toml:2:13: Error while parsing boolean: expected 'true', saw 'tru\\n'"},
    {"misspelled_key", "[keyboard]\nlayuot = \"gb\"\n", "check", 3,
     "{dir}/misspelled_key.toml:2:1: unknown key 'layuot' in [keyboard] (did you mean 'layout'?)"},
    {"wrong_type", "[ssh]\nenable = \"yes\"\n", "check", 3,
     "{dir}/wrong_type.toml:2:10: ssh.enable: expected true or false, found a string"},
    {"invalid_hostname", "[hostname]\nname = \"bad_name\"\n", "check", 3,
     "{dir}/invalid_hostname.toml:2:8: hostname.name: 'bad_name' is not a valid host name "
     "(RFC 1123): letters, digits and inner hyphens only, such as worker001"},
    {"invalid_ip", "[cluster]\ngateway = \"192.168.1.300\"\n", "check", 3,
     "{dir}/invalid_ip.toml:2:11: cluster.gateway: '192.168.1.300' is not an IPv4 address "
     "such as 192.168.1.10"},
    {"invalid_cidr", "[cluster]\nsubnet = \"10.0.0.0/33\"\n", "check", 3,
     "{dir}/invalid_cidr.toml:2:10: cluster.subnet: '10.0.0.0/33' is not an address with "
     "prefix length such as 192.168.1.10/24"},
    {"invalid_country", "[wifi]\ncountry = \"XX\"\n", "check", 3,
     "{dir}/invalid_country.toml:2:11: wifi.country: 'XX' is not an ISO 3166-1 alpha-2 country "
     "code; use two capital letters such as GB, US or DE"},
    {"invalid_locale", "[locale]\nlang = \"english\"\n", "check", 3,
     "{dir}/invalid_locale.toml:2:8: locale.lang: 'english' is not a locale name; write it like "
     "en_GB.UTF-8"},
    {"invalid_timezone", "[timezone]\nzone = \"Mars/Olympus Mons\"\n", "check", 3,
     "{dir}/invalid_timezone.toml:2:8: timezone.zone: 'Mars/Olympus Mons' is not a time zone "
     "name; write it like Europe/London"},
    {"invalid_public_key", "[user]\nauthorized_keys = [\"ssh-rsa notbase64 me\"]\n", "check", 3,
     "{dir}/invalid_public_key.toml:2:19: user.authorized_keys: "},
    {"include_cycle", "include = [\"cycle_b.toml\"]\n", "check", 3,
     "{dir}/cycle_b.toml:1:12: include cycle: {dir}/include_cycle.toml is already being "
     "included; remove one of the includes"},
    {"target_leaves_image", "[[files]]\npath = \"/../../etc/x\"\ncontent = \"x\"\n", "check", 3,
     "{dir}/target_leaves_image.toml:2:8: files.path: '..' is not allowed in paths inside the "
     "image; write the path without it"},
    {"target_not_absolute", "[[files]]\npath = \"etc/x\"\ncontent = \"x\"\n", "check", 3,
     "{dir}/target_not_absolute.toml:2:8: files.path: paths inside the image must be absolute "
     "(start with '/')"},
    {"source_leaves_recipe_dir", "[[files]]\npath = \"/etc/x\"\nsource = \"../../etc/shadow\"\n",
     "check", 3,
     "{dir}/source_leaves_recipe_dir.toml:3:10: files.source: '../../etc/shadow' is outside "
     "the recipe's directory {dir}; copy the file next to the recipe"},
    {"source_absolute_host_path", "[[files]]\npath = \"/etc/x\"\nsource = \"/etc/shadow\"\n",
     "check", 3,
     "{dir}/source_absolute_host_path.toml:3:10: files.source: '/etc/shadow' is outside the "
     "recipe's directory {dir}; copy the file next to the recipe"},
    {"packages_none", "[packages]\n", "check", 3,
     "{dir}/packages_none.toml:1:1: packages.install: name the packages to add: install = "
     "[\"htop\"], or package files with debs = [\"extra/*.deb\"]"},
    {"package_name", "[packages]\ninstall = [\"htop; rm -rf /\"]\n", "check", 3,
     "{dir}/package_name.toml:2:11: packages.install: 'htop; rm -rf /' is not a package name; "
     "write names as apt takes them: install = [\"htop\", \"python3-mpi4py\"]"},
    {"package_files_missing", "[packages]\ndebs = [\"extra/*.deb\"]\n", "check", 3,
     "{dir}/package_files_missing.toml:2:8: packages.debs: 'extra/*.deb' matches no file next "
     "to the recipe; give package files relative to it: debs = [\"extra/*.deb\"]"},
    {"package_source", "[packages]\ninstall = [\"htop\"]\nsources = [\"http://x\"]\n", "check", 3,
     "{dir}/package_source.toml:3:11: packages.sources: 'http://x' is not an apt source; write "
     "one-line sources: \"deb http://deb.debian.org/debian trixie main\""},
    {"zero_workers", "[cluster]\nworkers = 0\n", "cluster", 3,
     "{dir}/zero_workers.toml:2:11: cluster.workers: a cluster has 1 to 4096 workers"},
    {"more_workers_than_subnet", "[cluster]\nsubnet = \"10.0.0.0/29\"\nworkers = 8\n", "cluster", 3,
     "{dir}/more_workers_than_subnet.toml:3:11: cluster.workers: 8 workers and the master need "
     "9 addresses, but 10.0.0.0/29 from 10.0.0.1 holds only 6; use a larger subnet or an "
     "earlier first_address"},
    {"first_address_outside_subnet",
     "[cluster]\nsubnet = \"10.0.0.0/24\"\nfirst_address = \"10.0.1.5\"\n", "cluster", 3,
     "{dir}/first_address_outside_subnet.toml:3:17: cluster.first_address: 10.0.1.5 is not a "
     "host address of 10.0.0.0/24; pick one inside the subnet"},
    {"duplicate_hostnames", "[cluster]\nmaster = \"node1\"\nworker_name = \"node{index}\"\n",
     "cluster", 3,
     "{dir}/duplicate_hostnames.toml:3:15: cluster.worker_name: two nodes would be named node1; "
     "make the pattern include {index}"},
    {"invalid_worker_names", "[cluster]\nworker_name = \"node_{index}\"\n", "cluster", 3,
     "{dir}/invalid_worker_names.toml:2:15: cluster.worker_name: 'node_1' is not a valid host "
     "name (RFC 1123): letters, digits and inner hyphens only, such as worker001"},
};

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
    for (size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size()) {
        text.replace(at, from.size(), to);
    }
    return text;
}

} // namespace

TEST_CASE("bad recipes and cluster specs: one exact line, exit code 3, no output") {
    test::TempDir dir;
    write_helpers(dir);
    // A valid partition table: the cluster cases must fail on the spec, before the image.
    const auto base = dir / "base.img";
    test::write_mbr_image(base, 8 << 20, {{0x0c, 2048, 4096}, {0x83, 6144, 8192}});
    for (const Case& c : cases) {
        INFO(std::string(c.name));
        const auto recipe = dir / (std::string(c.name) + ".toml");
        test::write_file(recipe, c.recipe);
        std::vector<std::string> args{test::pimint_exe(), c.command, recipe.string()};
        const auto out = dir / (std::string("out-") + c.name);
        if (std::string(c.command) == "cluster") {
            args.insert(args.end(), {"--base", base.string(), "-o", out.string()});
        }
        const auto r = test::run(args);
        const std::string expected = "pimint: " + replace_all(c.expected, "{dir}", dir.path());
        const auto err = test::without_progress(r.err);
        CHECK(r.exit_code == c.exit_code);
        CHECK(std::count(err.begin(), err.end(), '\n') == 1);
        if (expected.back() == ' ') { // only the start is fixed (the parser's own words follow)
            CHECK(err.starts_with(expected));
        } else {
            CHECK(err == expected + "\n");
        }
        CHECK(r.out.empty());
        CHECK_FALSE(std::filesystem::exists(out));
    }
}

TEST_CASE("reproducible-build mistakes: a bad SOURCE_DATE_EPOCH, --keys without keys") {
    test::TempDir dir;
    const auto base = dir / "base.img";
    test::write_mbr_image(base, 8 << 20, {{0x0c, 2048, 4096}, {0x83, 6144, 8192}});
    test::write_file(dir / "cluster.toml", "[cluster]\nworkers = 1\n");
    const auto out = dir / "out";
    const auto cluster = [&](std::vector<std::string> extra) {
        std::vector<std::string> args{
            test::pimint_exe(), "cluster",     (dir / "cluster.toml").string(),
            "--base",           base.string(), "-o",
            out.string()};
        args.insert(args.end(), extra.begin(), extra.end());
        return test::run(args);
    };
    {
        const auto r = cluster({"--keys", dir.path().string()});
        CHECK(r.exit_code == 2);
        CHECK(r.err == fmt::format("pimint: {}: --keys: holds no keys.json (nor "
                                   ".pimint/keys.json); give an earlier cluster output directory\n",
                                   dir.path().string()));
        CHECK_FALSE(std::filesystem::exists(out));
    }
    {
        REQUIRE(::setenv("SOURCE_DATE_EPOCH", "yesterday", 1) == 0);
        const auto r = cluster({});
        ::unsetenv("SOURCE_DATE_EPOCH");
        CHECK(r.exit_code == 2);
        CHECK(r.err == "pimint: SOURCE_DATE_EPOCH: \"yesterday\" is not a number of seconds "
                       "since 1970; unset it or give one such as $(git log -1 --format=%ct)\n");
        CHECK_FALSE(std::filesystem::exists(out));
    }
}

TEST_CASE("an image too full for the recipe: the step, the space needed and the fix") {
    const auto base = test::test_image("stretch");
    const std::string base_sha = sha256_file(base);
    test::TempDir dir;
    // 2 GiB (sparse) to copy in: more than the test image's root filesystem has free.
    {
        const auto big = dir / "big.bin";
        test::write_file(big, "");
        std::filesystem::resize_file(big, 2ULL << 30);
    }
    test::write_file(dir / "full.toml",
                     "[[files]]\npath = \"/home/pi/big.bin\"\nsource = \"big.bin\"\n");
    const auto out = dir / "out.img";
    const auto r = test::run({test::pimint_exe(), "apply", (dir / "full.toml").string(), "--base",
                              base.string(), "-o", out.string()});
    INFO(r.err);
    const auto err = test::without_progress(r.err); // after the appliance start's line
    CHECK(r.exit_code == 4);
    CHECK(std::count(err.begin(), err.end(), '\n') == 1);
    CHECK(err.starts_with(fmt::format("pimint: {}: step [files] needs 2097156 KiB but the root "
                                      "filesystem has only ",
                                      out.string())));
    CHECK(r.err.ends_with(" KiB free; add [image] grow = \"+1G\" to the recipe\n"));
    CHECK(r.out.empty());
    CHECK_FALSE(std::filesystem::exists(out));
    CHECK(sha256_file(base) == base_sha);
}

TEST_CASE("a package apt cannot find: one line naming it, exit 3, even under -q") {
    const auto base = test::test_image("stretch");
    test::TempDir dir;
    test::write_file(dir / "p.toml", "[packages]\ninstall = [\"no-such-package-pimint\"]\n");
    const auto out = dir / "out.img";
    const auto r = test::run({test::pimint_exe(), "apply", (dir / "p.toml").string(), "--base",
                              base.string(), "-o", out.string(), "-q"});
    INFO(r.err);
    CHECK(r.exit_code == 3);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.starts_with(fmt::format("pimint: {}:2:11: [packages] cannot be installed from "
                                        "the image's apt sources (armhf): Unable to locate "
                                        "package no-such-package-pimint; ",
                                        (dir / "p.toml").string())));
    CHECK(r.out.empty());
    CHECK_FALSE(std::filesystem::exists(out));
}

TEST_CASE("an image built for another architecture: one line naming its libc") {
    // A Raspberry Pi layout whose root holds this PC's own libc, as a PC image would.
    test::TempDir dir;
    const auto root = dir / "root";
    std::filesystem::create_directories(root / "etc");
    std::filesystem::create_directories(root / "usr/lib/x86_64-linux-gnu");
    test::write_file(root / "etc/fstab", "/dev/mmcblk0p1 /boot vfat defaults 0 2\n");
    std::filesystem::copy_file("/usr/lib/x86_64-linux-gnu/libc.so.6",
                               root / "usr/lib/x86_64-linux-gnu/libc.so.6");
    const auto base = dir / "pc.img";
    test::write_pi_layout_image(base, root);
    test::write_file(dir / "name.toml", "[hostname]\nname = \"node1\"\n");
    const auto out = dir / "out.img";
    const auto r = test::run({test::pimint_exe(), "apply", (dir / "name.toml").string(), "--base",
                              base.string(), "-o", out.string()});
    INFO(r.err);
    const auto err = test::without_progress(r.err);
    CHECK(r.exit_code == 4);
    CHECK(err == fmt::format("pimint: {}: the image is built for amd64 (its libc in "
                             "/usr/lib/x86_64-linux-gnu), not for a Raspberry Pi; use a Raspberry "
                             "Pi OS image: 32-bit (armhf) or 64-bit (arm64)\n",
                             out.string()));
    CHECK(r.out.empty());
    CHECK_FALSE(std::filesystem::exists(out));
}
