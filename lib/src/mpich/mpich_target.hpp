// What the MPICH cross build compiles for: chosen from the image's own libc (its
// architecture and the oldest CPU its code runs on) unless the recipe names a CPU or a
// toolchain, so a 64-bit image gets AArch64 code and a 32-bit one code its CPU runs.
#pragma once

#include "image/image_arch.hpp"
#include "mpich/mpich_build.hpp"

#include <string>

namespace pimint {

struct MpichTarget {
    std::string cpu;       // "armv6", "armv7", "armv8" (32-bit), "armv8-a" (64-bit)
    std::string toolchain; // compiler prefix: "arm-linux-gnueabihf", "aarch64-linux-gnu"
    std::string multiarch; // the image's library directory under /usr/lib
    std::string cflags;    // for C and C++
    std::string describe;  // "arm64 (armv8-a)", for status lines
};

// The target for `spec` on an image whose libc is `image`. Throws Error(image) when the
// image has no libc or is no Raspberry Pi's, Error(recipe) when mpich.cpu does not fit
// the image (ARMv7 code on an ARMv6 image, a 32-bit CPU on a 64-bit image), and
// Error(build) for an ARMv6 image without a toolchain that targets it.
MpichTarget mpich_target(const MpichBuildSpec& spec, const ImageArch& image);

} // namespace pimint
