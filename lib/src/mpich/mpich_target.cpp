#include "mpich/mpich_target.hpp"

#include "image/elf_arch.hpp"
#include "pimint/core/error.hpp"

#include <fmt/format.h>

namespace pimint {
namespace {

MpichTarget arm64_target(const MpichBuildSpec& spec) {
    if (!spec.cpu.empty() && spec.cpu != "armv8") {
        throw Error(ErrorCategory::recipe, "mpich.cpu",
                    fmt::format("the image is 64-bit (arm64), which runs only ARMv8 code, not "
                                "{}; leave mpich.cpu out",
                                spec.cpu));
    }
    // Debian's aarch64 compilers emit plain ARMv8-A, which every 64-bit Pi runs.
    return {"armv8-a", spec.toolchain.empty() ? "aarch64-linux-gnu" : spec.toolchain,
            "aarch64-linux-gnu", "-O2", "arm64 (armv8-a)"};
}

MpichTarget armhf_target(const MpichBuildSpec& spec, const ImageArch& image) {
    // Without build attributes in its libc, an armhf image is taken for Debian's ARMv7.
    const std::string baseline = image.code_baseline.empty() ? "armv7" : image.code_baseline;
    const bool armv7_runs = code_runs_on("armv7", baseline);
    const std::string cpu = spec.cpu.empty() ? (armv7_runs ? "armv7" : "armv6") : spec.cpu;
    if (cpu != "armv6" && !armv7_runs) {
        throw Error(ErrorCategory::recipe, "mpich.cpu",
                    fmt::format("the image's libc is built for {} (Pi 1, Zero), where {} code "
                                "dies with SIGILL; leave mpich.cpu out or set it to armv6",
                                baseline, cpu));
    }
    MpichTarget target{cpu, spec.toolchain.empty() ? "arm-linux-gnueabihf" : spec.toolchain,
                       image.multiarch, "-O2", fmt::format("armhf ({})", cpu)};
    if (cpu == "armv8") {
        target.cflags = "-O2 -mcpu=cortex-a53";
    } else if (cpu == "armv6") {
        if (spec.toolchain.empty()) {
            throw Error(ErrorCategory::build, "mpich.toolchain",
                        fmt::format("the image's libc is built for {} (Pi 1, Zero), and "
                                    "Debian's arm-linux-gnueabihf compilers emit ARMv7 code, "
                                    "which dies with SIGILL there; set mpich.toolchain to the "
                                    "prefix of a toolchain that targets ARMv6",
                                    baseline));
        }
        target.cflags = "-O2 -march=armv6kz -mfpu=vfp -mfloat-abi=hard -marm";
    }
    return target;
}

} // namespace

MpichTarget mpich_target(const MpichBuildSpec& spec, const ImageArch& image) {
    if (image.architecture.empty()) {
        throw Error(ErrorCategory::image, "/usr/lib",
                    "the image has no libc (libc.so.6 under /usr/lib/<multiarch>), which the "
                    "MPICH cross build compiles against; use a Raspberry Pi OS image");
    }
    if (image.architecture == "arm64") {
        return arm64_target(spec);
    }
    if (image.architecture == "armhf") {
        return armhf_target(spec, image);
    }
    throw Error(ErrorCategory::image, "/usr/lib/" + image.multiarch + "/libc.so.6",
                fmt::format("the image is built for {}, not for a Raspberry Pi; use a "
                            "Raspberry Pi OS image: 32-bit (armhf) or 64-bit (arm64)",
                            image.architecture));
}

} // namespace pimint
