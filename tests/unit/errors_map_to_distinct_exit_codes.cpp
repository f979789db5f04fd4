#include <doctest/doctest.h>
#include <pimint/core/error.hpp>
#include <pimint/image/image_fs.hpp>
#include <set>

using namespace pimint;

TEST_CASE("every error category has its own non-zero exit code") {
    const ErrorCategory all[] = {ErrorCategory::usage,       ErrorCategory::recipe,
                                 ErrorCategory::image,       ErrorCategory::io,
                                 ErrorCategory::appliance,   ErrorCategory::build,
                                 ErrorCategory::secret,      ErrorCategory::target,
                                 ErrorCategory::interrupted, ErrorCategory::internal};
    std::set<int> codes;
    for (auto c : all) {
        CHECK(exit_code(c) != 0);
        codes.insert(exit_code(c));
    }
    CHECK(codes.size() == std::size(all));
}

TEST_CASE("an error's text is context, colon, message on one line") {
    const Error e(ErrorCategory::image, "raspbian.img", "truncated");
    CHECK(std::string(e.what()) == "raspbian.img: truncated");
    CHECK(e.context() == "raspbian.img");
}

TEST_CASE("image paths must be absolute and may not climb out with ..") {
    CHECK_NOTHROW(check_image_path("/etc/hostname"));
    CHECK_THROWS_AS(check_image_path("etc/hostname"), Error);
    CHECK_THROWS_AS(check_image_path("/home/pi/../../etc/shadow"), Error);
    CHECK_THROWS_AS(check_image_path(""), Error);
}

TEST_CASE("an error quoting text with line breaks is still one line") {
    const Error e(ErrorCategory::recipe, "r.toml:3:1", "bad value \"a\nb\tc\x01\"");
    CHECK(std::string(e.what()) == "r.toml:3:1: bad value \"a\\nb\\tc\\x01\"");
    CHECK(e.message() == "bad value \"a\\nb\\tc\\x01\"");
}
