// Runs the pimint executable as a user would: its help, its version, `inspect` on the
// test image (text and JSON), and every bad input with its one-line error and exit code.
#include "disk_image.hpp"
#include "run.hpp"
#include "temp_dir.hpp"
#include "test_image.hpp"

#include <algorithm>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <pimint/core/files.hpp>
#include <pimint/image/partition_table.hpp>
#include <unistd.h>

using namespace pimint;
using test::run;
using test::RunResult;

namespace {

RunResult run_pimint(std::vector<std::string> args) {
    args.insert(args.begin(), test::pimint_exe());
    return run(args);
}

// A failed command prints exactly one line, starting "pimint: <file>: <message>" (after
// the stage lines of a long run, such as the appliance start).
void check_one_line_error(const RunResult& r, int code, const std::filesystem::path& file,
                          const std::string& message) {
    INFO("stderr: " << r.err);
    const auto err = test::without_progress(r.err);
    CHECK(r.exit_code == code);
    CHECK(std::count(err.begin(), err.end(), '\n') == 1);
    CHECK(err.starts_with("pimint: " + file.string() + ": "));
    CHECK(err.find(message) != std::string::npos);
    CHECK(r.out.empty());
}

} // namespace

TEST_CASE("help and version") {
    const auto help = run_pimint({"--help"});
    CHECK(help.exit_code == 0);
    CHECK(help.out.find("inspect") != std::string::npos);
    const auto inspect_help = run_pimint({"inspect", "--help"});
    CHECK(inspect_help.exit_code == 0);
    CHECK(inspect_help.out.find("--json") != std::string::npos);
    const auto version = run_pimint({"--version"});
    CHECK(version.exit_code == 0);
    CHECK(version.out.starts_with("pimint 0."));
}

TEST_CASE("misuse exits with the usage code") {
    CHECK(run_pimint({"frobnicate"}).exit_code == 2);
    CHECK(run_pimint({"inspect"}).exit_code == 2);
    CHECK(run_pimint({"inspect", "--no-such-option", "x.img"}).exit_code == 2);
    CHECK(run_pimint({}).exit_code == 2);
}

TEST_CASE("bad images give one line naming the file, the problem and a distinct exit code") {
    test::TempDir dir;
    SUBCASE("missing file") {
        check_one_line_error(run_pimint({"inspect", (dir / "nope.img").string()}), 5,
                             dir / "nope.img", "no such file");
    }
    SUBCASE("not an image") {
        test::write_file(dir / "notes.img", std::string(2048, 'x'));
        check_one_line_error(run_pimint({"inspect", (dir / "notes.img").string()}), 4,
                             dir / "notes.img", "not a disk image");
    }
    SUBCASE("unreadable") {
        test::write_mbr_image(dir / "locked.img", 1 << 20, {{0x0c, 2048, 100}});
        std::filesystem::permissions(dir / "locked.img", std::filesystem::perms::none);
        const auto r = run_pimint({"inspect", (dir / "locked.img").string()});
        if (::geteuid() == 0) {
            MESSAGE("running as root: permissions do not stop reading, checking the layout error "
                    "instead");
            CHECK(r.exit_code == 4);
        } else {
            check_one_line_error(r, 5, dir / "locked.img", "permission denied");
        }
    }
    SUBCASE("GPT") {
        test::write_mbr_image(dir / "gpt.img", 1 << 20, {{0xee, 1, 2047}});
        check_one_line_error(run_pimint({"inspect", (dir / "gpt.img").string()}), 4,
                             dir / "gpt.img", "GPT");
    }
    SUBCASE("truncated") {
        test::write_mbr_image(dir / "cut.img", 8 << 20, {{0x0c, 8192, 8192}, {0x83, 16384, 65536}});
        check_one_line_error(run_pimint({"inspect", (dir / "cut.img").string()}), 4,
                             dir / "cut.img", "truncated");
    }
    SUBCASE("no root partition") {
        test::write_mbr_image(dir / "boot.img", 8 << 20, {{0x0c, 8192, 4096}});
        check_one_line_error(run_pimint({"inspect", (dir / "boot.img").string()}), 4,
                             dir / "boot.img", "missing root partition");
    }
    SUBCASE("non-Pi layout") {
        test::write_mbr_image(dir / "pc.img", 8 << 20, {{0x83, 2048, 4096}, {0x82, 6144, 4096}});
        check_one_line_error(run_pimint({"inspect", (dir / "pc.img").string()}), 4, dir / "pc.img",
                             "not a Raspberry Pi layout");
    }
}

TEST_CASE("damaged filesystems inside a valid partition table are reported, not crashed on") {
    const auto base = test::test_image("stretch");
    test::TempDir dir;
    const auto copy = dir / "damaged.img";
    sparse_copy(base, copy);
    const auto table = read_partition_table(copy);
    // Wipe the root filesystem's superblock region: the table still looks right.
    test::zero_range(copy, table.partitions[1].offset(), 4 << 20);
    check_one_line_error(run_pimint({"inspect", copy.string()}), 4, copy,
                         "missing root filesystem");
}

TEST_CASE("inspect prints the test image's facts, as text and as JSON, without changing it") {
    const auto image = test::test_image("stretch");
    const std::string before = sha256_file(image);

    const auto text = run_pimint({"inspect", image.string()});
    INFO(text.err);
    REQUIRE(text.exit_code == 0);
    for (const char* fact : {"Layout       stretch", "Hostname     raspberrypi", "pi (1000:1000)",
                             "SSH          disabled", "Locale       en_GB.UTF-8", "layout gb",
                             "Timezone     Europe/London", "WiFi country (not set)",
                             "'rootfs' at /", "Architecture armhf (code for armv7 and later)"}) {
        CHECK_MESSAGE(text.out.find(fact) != std::string::npos, fact);
    }
    // quiet when not on a terminal, but for the stages a piped run announces
    CHECK(test::without_progress(text.err).empty());

    const auto json = run_pimint({"inspect", "--json", image.string()});
    REQUIRE(json.exit_code == 0);
    const auto j = nlohmann::json::parse(json.out);
    CHECK(j["hostname"] == "raspberrypi");
    CHECK(j["layout"] == "stretch");
    CHECK(j["partitions"].size() == 2);
    CHECK(j["partitions"][1]["fs_type"] == "ext4");
    CHECK(j["timezone"] == "Europe/London");

    CHECK(sha256_file(image) == before);
}
