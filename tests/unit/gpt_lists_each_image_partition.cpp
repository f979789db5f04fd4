// The GPT pimint writes for an image set, read back by util-linux's sfdisk: an
// independent reader of the format.
#include "image/gpt.hpp"
#include "run.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <pimint/core/error.hpp>
#include <pimint/core/files.hpp>

using namespace pimint;

TEST_CASE("sfdisk reads the partitions of the GPT written for an image set") {
    test::TempDir dir;
    const auto disk = dir / "set.img";
    create_sparse_file(disk, 64ULL << 20);
    const std::vector<GptPartition> parts = {{GptPartition::Kind::fat, 2048 + 8192, 8192},
                                             {GptPartition::Kind::linux, 2048 + 16384, 16384},
                                             {GptPartition::Kind::fat, 65536 + 8192, 8192},
                                             {GptPartition::Kind::linux, 65536 + 16384, 16384}};
    write_gpt(disk, parts);
    const auto r = test::run({"sfdisk", "--json", disk.string()});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    CHECK(r.err.find("invalid") == std::string::npos);
    const auto table = nlohmann::json::parse(r.out).at("partitiontable");
    CHECK(table.at("label") == "gpt");
    const auto& listed = table.at("partitions");
    REQUIRE(listed.size() == parts.size());
    for (size_t i = 0; i < parts.size(); ++i) {
        CAPTURE(i);
        CHECK(listed[i].at("start").get<std::uint64_t>() == parts[i].first_sector);
        CHECK(listed[i].at("size").get<std::uint64_t>() == parts[i].sectors);
        CHECK(listed[i].at("type") == (parts[i].kind == GptPartition::Kind::fat
                                           ? "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"
                                           : "0FC63DAF-8483-4772-8E79-3D69C8477D4F"));
    }
    // sfdisk checks both copies of the table and their checksums.
    const auto verify = test::run({"sfdisk", "--verify", disk.string()});
    const std::string said = verify.out + verify.err;
    CHECK_MESSAGE(verify.exit_code == 0, said);
}

TEST_CASE("a GPT refuses overlapping partitions") {
    test::TempDir dir;
    const auto disk = dir / "set.img";
    create_sparse_file(disk, 8ULL << 20);
    CHECK_THROWS_AS(write_gpt(disk, {{GptPartition::Kind::fat, 2048, 4096},
                                     {GptPartition::Kind::linux, 4096, 4096}}),
                    Error);
    CHECK_THROWS_AS(write_gpt(disk, {{GptPartition::Kind::linux, 2048, 1ULL << 20}}), Error);
}
