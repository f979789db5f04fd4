#include "disk_image.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>
#include <pimint/core/error.hpp>
#include <pimint/image/partition_table.hpp>

using namespace pimint;
using pimint::test::TempDir;
using pimint::test::write_file;
using pimint::test::write_mbr_image;

namespace {

// Returns the message of the Error that reading and checking `path` throws.
Error error_for(const std::filesystem::path& path) {
    try {
        require_pi_layout(read_partition_table(path), path);
    } catch (const Error& e) {
        return e;
    }
    FAIL("no error for " << path);
    return Error(ErrorCategory::internal, "", "");
}

constexpr std::uint32_t boot_start = 8192;
constexpr std::uint32_t boot_sectors = 2048;
constexpr std::uint32_t root_start = boot_start + boot_sectors;
constexpr std::uint32_t root_sectors = 4096;
constexpr std::uint64_t full_size = std::uint64_t(root_start + root_sectors) * 512;

} // namespace

TEST_CASE("a Raspberry Pi MBR is read with its disk id and partitions") {
    TempDir dir;
    write_mbr_image(dir / "ok.img", full_size,
                    {{0x0c, boot_start, boot_sectors}, {0x83, root_start, root_sectors}},
                    0x9c5e2a17);
    const auto table = read_partition_table(dir / "ok.img");
    CHECK(disk_id_hex(table.disk_id) == "9c5e2a17");
    REQUIRE(table.partitions.size() == 2);
    CHECK(table.partitions[0].offset() == 8192 * 512);
    CHECK(table.partitions[1].number == 2);
    CHECK(table.partitions[1].size() == root_sectors * 512ULL);
    CHECK_NOTHROW(require_pi_layout(table, dir / "ok.img"));
}

TEST_CASE("a missing file is an io error naming the file") {
    TempDir dir;
    const Error e = error_for(dir / "absent.img");
    CHECK(e.category() == ErrorCategory::io);
    CHECK(std::string(e.what()).find("absent.img: no such file") != std::string::npos);
}

TEST_CASE("files that are not disk images are rejected") {
    TempDir dir;
    SUBCASE("empty") {
        write_file(dir / "x.img", "");
        CHECK(std::string(error_for(dir / "x.img").what()).find("not a disk image") !=
              std::string::npos);
    }
    SUBCASE("text") {
        write_file(dir / "x.img", std::string(4096, 'a'));
        const Error e = error_for(dir / "x.img");
        CHECK(e.category() == ErrorCategory::image);
        CHECK(e.message().find("no MBR boot signature") != std::string::npos);
    }
    SUBCASE("directory") {
        std::filesystem::create_directory(dir / "x.img");
        CHECK(error_for(dir / "x.img").message().find("directory") != std::string::npos);
    }
}

TEST_CASE("a GPT disk is rejected") {
    TempDir dir;
    write_mbr_image(dir / "gpt.img", 1 << 20, {{0xee, 1, 2047}});
    const Error e = error_for(dir / "gpt.img");
    CHECK(e.category() == ErrorCategory::image);
    CHECK(e.message().find("GPT") != std::string::npos);
}

TEST_CASE("a truncated image is rejected with the sizes") {
    TempDir dir;
    write_mbr_image(dir / "cut.img", (root_start + root_sectors / 2) * 512ULL,
                    {{0x0c, boot_start, boot_sectors}, {0x83, root_start, root_sectors}});
    const Error e = error_for(dir / "cut.img");
    CHECK(e.message().find("truncated: partition 2 ends at byte") != std::string::npos);
}

TEST_CASE("layouts other than FAT boot + Linux root are rejected") {
    TempDir dir;
    SUBCASE("only a boot partition") {
        write_mbr_image(dir / "x.img", full_size, {{0x0c, boot_start, boot_sectors}});
        CHECK(error_for(dir / "x.img").message().find("missing root partition") !=
              std::string::npos);
    }
    SUBCASE("Linux first") {
        write_mbr_image(dir / "x.img", full_size,
                        {{0x83, boot_start, boot_sectors}, {0x83, root_start, root_sectors}});
        CHECK(error_for(dir / "x.img").message().find("partition 1 has type 0x83") !=
              std::string::npos);
    }
    SUBCASE("swap as partition 2") {
        write_mbr_image(dir / "x.img", full_size,
                        {{0x0c, boot_start, boot_sectors}, {0x82, root_start, root_sectors}});
        CHECK(error_for(dir / "x.img").message().find("partition 2 has type 0x82") !=
              std::string::npos);
    }
    SUBCASE("empty table") {
        write_mbr_image(dir / "x.img", full_size, {});
        CHECK(error_for(dir / "x.img").message().find("empty partition table") !=
              std::string::npos);
    }
}
