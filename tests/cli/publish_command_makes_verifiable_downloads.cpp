// `pimint publish` on a cluster output, as a teacher runs it before putting the images
// online: it refuses a directory whose master holds the cluster's private key (the other
// findings are covered by secret_scan_finds_private_keys_and_default_passwords), and
// with --allow-secrets writes archives that decompress to the recorded images,
// block maps that bmaptool copies byte for byte, SHA256SUMS that sha256sum accepts and
// an os_list.json valid against the Imager schema in schemas/; --shrink cuts an image to
// its data plus a margin, only where the image can grow back at first boot. The inputs
// stay as they were. Archives are written at --level 1 here: what they hold does not depend
// on the level (e2e publishes at the default), and xz's default costs minutes per image.
#include "disk_image.hpp"
#include "run.hpp"
#include "temp_dir.hpp"
#include "test_image.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pimint/core/files.hpp>
#include <pimint/image/partition_table.hpp>

using namespace pimint;

namespace {

std::string source_root() {
    return std::getenv("PIMINT_SOURCE_ROOT");
}

test::RunResult shell(const std::string& command) {
    return test::run({"sh", "-c", command});
}

std::uint64_t data_bytes(const std::filesystem::path& file) {
    std::uint64_t total = 0;
    for (const auto& e : data_extents(file)) {
        total += e.end - e.start;
    }
    return total;
}

bool no_archives(const std::filesystem::path& dir) {
    if (!std::filesystem::exists(dir)) {
        return true;
    }
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        const auto name = e.path().filename().string();
        if (!name.starts_with(".pimint")) {
            return false;
        }
    }
    return true;
}

} // namespace

TEST_CASE("publish refuses secrets, and its archives check out with xz, bmaptool, sha256sum "
          "and the Imager schema") {
    const auto base = test::test_image("stretch");
    test::TempDir dir;
    // A small cluster recipe: what publish sees is the cluster's identity and the base
    // image's default password, not the node set-up.
    test::write_file(dir / "cluster.toml", "[ssh]\nenable = true\n[cluster]\nworkers = 1\n");
    const auto cluster = dir / "cluster";
    const auto made = test::run({test::pimint_exe(), "cluster", (dir / "cluster.toml").string(),
                                 "--base", base.string(), "-o", cluster.string(), "-q"});
    INFO(made.err);
    REQUIRE(made.exit_code == 0);
    const auto manifest = nlohmann::json::parse(test::read_file(cluster / "manifest.json"));

    {
        // the master holds the cluster's private key: refused, nothing published
        const auto r = test::run(
            {test::pimint_exe(), "publish", cluster.string(), "-o", (dir / "pub").string()});
        CHECK(r.exit_code == 8);
        CHECK(r.err.find("master.img: /home/pi/.ssh/id_rsa: a private SSH key") !=
              std::string::npos);
        CHECK(r.err.find("--allow-secrets") != std::string::npos);
        const auto err = test::without_progress(r.err);
        CHECK(std::count(err.begin(), err.end(), '\n') == 1);
        CHECK(no_archives(dir / "pub"));
    }

    {
        // a compression level outside 0..9: refused before anything is read
        const auto r = test::run({test::pimint_exe(), "publish", cluster.string(), "-o",
                                  (dir / "pub").string(), "--allow-secrets", "--level", "12"});
        CHECK(r.exit_code == 2);
        CHECK(r.err == "pimint: --level: 12 is not a compression level; give 0 (fastest) to 9 "
                       "(smallest)\n");
        CHECK(no_archives(dir / "pub"));
    }

    {
        // with --allow-secrets: archives, block maps, sums and the Imager list verify
        const auto pub = dir / "pub";
        const auto r = test::run({test::pimint_exe(), "publish", cluster.string(), "-o",
                                  pub.string(), "--allow-secrets", "--level", "1", "--json",
                                  "--url-base", "https://example.org/lab/"});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        const auto report = nlohmann::json::parse(r.out);
        REQUIRE(report["images"].size() == 2);
        for (const auto& img : report["images"]) {
            const std::string name = img["name"];
            INFO(name);
            const std::filesystem::path archive = img["archive"].get<std::string>();
            CHECK(archive == pub / (name + ".img.xz"));
            const auto extracted = dir / (name + ".extracted.img");
            REQUIRE(shell("xz -dc '" + archive.string() + "' > '" + extracted.string() + "'")
                        .exit_code == 0);
            CHECK(std::filesystem::file_size(extracted) == img["image_size"].get<std::uint64_t>());
            CHECK(sha256_file(extracted) == img["image_sha256"]);

            const auto copied = dir / (name + ".bmapcopy.img");
            const auto bmap = test::run(
                {"bmaptool", "copy", "--bmap", img["bmap"], archive.string(), copied.string()});
            INFO(bmap.err);
            CHECK(bmap.exit_code == 0);
            CHECK(test::run({"cmp", extracted.string(), copied.string()}).exit_code == 0);

            // Free space was discarded: fewer data blocks than the image had.
            const std::filesystem::path source = img["source"].get<std::string>();
            CHECK(img["mapped_bytes"].get<std::uint64_t>() < data_bytes(source));
            std::filesystem::remove(extracted);
            std::filesystem::remove(copied);
        }
        CHECK(shell("cd '" + pub.string() + "' && sha256sum --quiet -c --ignore-missing SHA256SUMS")
                  .exit_code == 0);

        const auto schema =
            test::run({"python3", "-m", "jsonschema", "-i", (pub / "os_list.json").string(),
                       source_root() + "/schemas/imager-os-list.schema.json"});
        INFO(schema.err, schema.out);
        CHECK(schema.exit_code == 0);
        const auto list = nlohmann::json::parse(test::read_file(pub / "os_list.json"));
        REQUIRE(list["os_list"].size() == 2);
        for (const auto& entry : list["os_list"]) {
            CHECK_FALSE(entry.contains("init_format")); // cluster nodes keep their identity
            CHECK(entry["url"].get<std::string>().starts_with("https://example.org/lab/"));
        }
        // The inputs are untouched.
        for (const auto& node : manifest["nodes"]) {
            CHECK(sha256_file(cluster / node["image"].get<std::string>()) == node["sha256"]);
        }
    }

    {
        // zip holds the image as its one entry
        const auto pub = dir / "zip";
        const auto r = test::run({test::pimint_exe(), "publish",
                                  (cluster / "worker001.img").string(), "-o", pub.string(),
                                  "--allow-secrets", "--format", "zip", "--level", "1", "--json"});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        const auto img = nlohmann::json::parse(r.out)["images"][0];
        CHECK(test::run({"unzip", "-Z1", (pub / "worker001.zip").string()}).out ==
              "worker001.img\n");
        const auto extracted = dir / "zip.img";
        REQUIRE(shell("unzip -p '" + (pub / "worker001.zip").string() + "' > '" +
                      extracted.string() + "'")
                    .exit_code == 0);
        CHECK(sha256_file(extracted) == img["image_sha256"]);
    }

    {
        // --shrink needs a way for the image to grow back at first boot; the plain test
        // image (Debian minbase) has neither Raspbian's init_resize.sh nor sfdisk
        const auto r =
            test::run({test::pimint_exe(), "publish", (cluster / "worker001.img").string(), "-o",
                       (dir / "refused").string(), "--allow-secrets", "--shrink"});
        CHECK(r.exit_code == 4);
        CHECK(test::without_progress(r.err) ==
              "pimint: " + (cluster / "worker001.img").string() +
                  ": cannot be shrunk: it has neither Raspbian's "
                  "/usr/lib/raspi-config/init_resize.sh nor sfdisk to grow its root at "
                  "first boot; publish it without --shrink\n");
        CHECK(no_archives(dir / "refused"));
    }

    {
        // --shrink on an image with Raspbian's first-boot resizers: the root filesystem is
        // cut to its data plus the margin, partition 2 ends where the file does, the
        // filesystem checks clean, and cmdline.txt runs init_resize.sh at first boot
        test::write_file(dir / "raspbian.toml", R"([[files]]
path = "/usr/lib/raspi-config/init_resize.sh"
content = "#!/bin/sh\n"
mode = "0755"
[[files]]
path = "/etc/init.d/resize2fs_once"
content = "#!/bin/sh\n"
mode = "0755"
)");
        const auto raspbian = dir / "raspbian.img";
        REQUIRE(test::run({test::pimint_exe(), "apply", (dir / "raspbian.toml").string(), "--base",
                           (cluster / "worker001.img").string(), "-o", raspbian.string(), "-q"})
                    .exit_code == 0);
        const auto pub = dir / "shrunk";
        const auto r = test::run({test::pimint_exe(), "publish", raspbian.string(), "-o",
                                  pub.string(), "--allow-secrets", "--format", "gz", "--level", "1",
                                  "--shrink", "--shrink-margin", "64", "--json"});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        const auto img = nlohmann::json::parse(r.out)["images"][0];
        CHECK(img["first_boot_growth"] == "init_resize.sh");
        const auto extracted = dir / "shrunk.img";
        REQUIRE(shell("gzip -dc '" + (pub / "raspbian.img.gz").string() + "' > '" +
                      extracted.string() + "'")
                    .exit_code == 0);
        CHECK(sha256_file(extracted) == img["image_sha256"]);
        const auto size = std::filesystem::file_size(extracted);
        MESSAGE(fmt::format("shrunk {} to {} bytes", std::filesystem::file_size(raspbian), size));
        CHECK(size < std::filesystem::file_size(raspbian));
        CHECK(size % (4 << 20) == 0);
        const auto table = read_partition_table(extracted);
        const auto& root = table.partitions.at(1);
        CHECK(root.offset() + root.size() == size);
        const auto part = dir / "root.part";
        REQUIRE(
            shell(fmt::format("dd if='{}' of='{}' bs=512 skip={} count={} conv=sparse "
                              "status=none",
                              extracted.string(), part.string(), root.start_sector, root.sectors))
                .exit_code == 0);
        const auto fsck = test::run({"e2fsck", "-fn", part.string()});
        INFO(fsck.out);
        CHECK(fsck.exit_code == 0);
        // Free space left: the margin, give or take the 4 MiB alignment and ext4's overhead.
        const auto df = shell("dumpe2fs -h '" + part.string() +
                              "' 2>/dev/null | sed -n 's/^Free blocks: *//p'");
        const auto free_bytes = std::stoull(df.out) * 4096;
        CHECK(free_bytes >= (60ULL << 20));
        CHECK(free_bytes <= (80ULL << 20));
        const auto cmdline =
            shell(fmt::format("mcopy -n -i '{}@@{}' ::cmdline.txt -", extracted.string(),
                              table.partitions.at(0).offset()));
        CHECK(cmdline.out.find(" init=/usr/lib/raspi-config/init_resize.sh") != std::string::npos);
        CHECK(std::count(cmdline.out.begin(), cmdline.out.end(), '\n') == 1);
    }

    {
        // gz: one gzip stream, no name or time stamp in its header
        const auto pub = dir / "gz";
        const auto r = test::run({test::pimint_exe(), "publish",
                                  (cluster / "worker001.img").string(), "-o", pub.string(),
                                  "--allow-secrets", "--format", "gz", "--level", "1", "--json"});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        const auto img = nlohmann::json::parse(r.out)["images"][0];
        const auto archive = pub / "worker001.img.gz";
        const std::string header = test::read_file(archive).substr(0, 10);
        CHECK(header.substr(0, 2) == "\x1f\x8b");
        CHECK((header[3] & 0x08) == 0);                     // no file name
        CHECK(header.substr(4, 4) == std::string(4, '\0')); // no time stamp
        const auto extracted = dir / "gz.img";
        REQUIRE(
            shell("gzip -dc '" + archive.string() + "' > '" + extracted.string() + "'").exit_code ==
            0);
        CHECK(sha256_file(extracted) == img["image_sha256"]);
    }
}
