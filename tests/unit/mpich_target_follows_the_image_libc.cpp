// The MPICH build compiles for what the image's own libc is built for, unless the
// recipe says otherwise, and refuses a CPU the image cannot run or an image no Pi runs.
#include "mpich/mpich_target.hpp"
#include "pimint/core/error.hpp"

#include <doctest/doctest.h>
#include <string>

using namespace pimint;

namespace {

const ImageArch armv7_image{"armhf", "armv7", "arm-linux-gnueabihf"};
const ImageArch armv6_image{"armhf", "armv6kz", "arm-linux-gnueabihf"};
const ImageArch arm64_image{"arm64", "armv8-a", "aarch64-linux-gnu"};

MpichBuildSpec spec(const std::string& cpu, const std::string& toolchain = "") {
    MpichBuildSpec s;
    s.cpu = cpu;
    s.toolchain = toolchain;
    return s;
}

// The category and message of the error mpich_target throws, or "none".
std::string refusal(const MpichBuildSpec& s, const ImageArch& image, ErrorCategory expected) {
    try {
        mpich_target(s, image);
    } catch (const Error& e) {
        CHECK(e.category() == expected);
        return e.what();
    }
    return "none";
}

} // namespace

TEST_CASE("left alone, the target is the image's: Debian's compilers for its architecture") {
    const auto v7 = mpich_target(spec(""), armv7_image);
    CHECK(v7.toolchain == "arm-linux-gnueabihf");
    CHECK(v7.multiarch == "arm-linux-gnueabihf");
    CHECK(v7.cflags == "-O2");
    CHECK(v7.cpu == "armv7");
    const auto a64 = mpich_target(spec(""), arm64_image);
    CHECK(a64.toolchain == "aarch64-linux-gnu");
    CHECK(a64.multiarch == "aarch64-linux-gnu");
    CHECK(a64.describe == "arm64 (armv8-a)");
    // No build attributes in an armhf libc: Debian's ARMv7.
    CHECK(mpich_target(spec(""), {"armhf", "", "arm-linux-gnueabihf"}).cflags == "-O2");
}

TEST_CASE("an ARMv6 image is compiled for ARMv6, with a toolchain that can") {
    const auto v6 = mpich_target(spec("", "armv6-rpi-linux-gnueabihf"), armv6_image);
    CHECK(v6.toolchain == "armv6-rpi-linux-gnueabihf");
    CHECK(v6.multiarch == "arm-linux-gnueabihf"); // the image's own library directory
    CHECK(v6.cflags.find("-march=armv6kz") != std::string::npos);
    CHECK(v6.cflags.find("-marm") != std::string::npos);
    CHECK(refusal(spec(""), armv6_image, ErrorCategory::build).find("mpich.toolchain") == 0);
}

TEST_CASE("a CPU the image cannot run is refused, naming mpich.cpu") {
    CHECK(refusal(spec("armv7"), armv6_image, ErrorCategory::recipe) ==
          "mpich.cpu: the image's libc is built for armv6kz (Pi 1, Zero), where armv7 code "
          "dies with SIGILL; leave mpich.cpu out or set it to armv6");
    CHECK(refusal(spec("armv7"), arm64_image, ErrorCategory::recipe) ==
          "mpich.cpu: the image is 64-bit (arm64), which runs only ARMv8 code, not armv7; "
          "leave mpich.cpu out");
    CHECK(mpich_target(spec("armv8"), armv7_image).cflags == "-O2 -mcpu=cortex-a53");
}

TEST_CASE("an image no Pi runs, or one without a libc, is an image error") {
    CHECK(refusal(spec(""), {"amd64", "", "x86_64-linux-gnu"}, ErrorCategory::image) ==
          "/usr/lib/x86_64-linux-gnu/libc.so.6: the image is built for amd64, not for a "
          "Raspberry Pi; use a Raspberry Pi OS image: 32-bit (armhf) or 64-bit (arm64)");
    CHECK(refusal(spec(""), {}, ErrorCategory::image).find("/usr/lib: the image has no libc") == 0);
}
