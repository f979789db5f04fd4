#include "disk_image.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>
#include <pimint/core/error.hpp>
#include <pimint/core/files.hpp>

using namespace pimint;
using pimint::test::TempDir;

TEST_CASE("an uncommitted output leaves neither the final nor the temporary file") {
    TempDir dir;
    std::filesystem::path temp;
    {
        AtomicOutput out(dir / "master.img");
        temp = out.temp_path();
        CHECK(temp.parent_path() == dir.path());
        CHECK(temp.filename().string().starts_with(AtomicOutput::temp_prefix));
        pimint::test::write_file(temp, "half written");
    }
    CHECK_FALSE(std::filesystem::exists(dir / "master.img"));
    CHECK_FALSE(std::filesystem::exists(temp));
}

TEST_CASE("a failure before commit leaves no file under the final name") {
    TempDir dir;
    try {
        AtomicOutput out(dir / "worker001.img");
        pimint::test::write_file(out.temp_path(), "partial");
        throw Error(ErrorCategory::io, "test", "simulated failure");
    } catch (const Error&) {
    }
    CHECK(std::filesystem::is_empty(dir.path()));
}

TEST_CASE("commit renames the finished file into place") {
    TempDir dir;
    AtomicOutput out(dir / "master.img");
    pimint::test::write_file(out.temp_path(), "complete");
    out.commit();
    CHECK(pimint::test::read_file(dir / "master.img") == "complete");
    CHECK_FALSE(std::filesystem::exists(out.temp_path()));
}
