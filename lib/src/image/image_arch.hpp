// What CPU an image's programs are built for, read from the image's own libc: its
// architecture, the oldest CPU its code runs on, and the multiarch directory its
// libraries live in. pimint makes Raspberry Pi images, so only armhf and arm64 are
// worked on; other images are refused in one line.
#pragma once

#include "pimint/image/appliance.hpp"
#include "pimint/image/image_fs.hpp"

#include <string>

namespace pimint {

struct ImageArch {
    std::string architecture;  // "armhf", "arm64", "amd64", ...; empty without a libc
    std::string code_baseline; // "armv6kz", "armv7", "armv8-a"; empty when unknown
    std::string multiarch;     // "arm-linux-gnueabihf", "aarch64-linux-gnu", ...
};

// Finds the libc of the mounted image (in /usr/lib/<multiarch> or /lib/<multiarch>,
// ARM ones first) and reads what it is built for. Empty when it has none.
ImageArch read_image_arch(ImageFs& fs);

// Throws Error(image) naming `image` when its architecture is known and is not one of
// a Raspberry Pi's (armhf, arm64).
void require_pi_architecture(const Layout& layout, const std::string& image);

} // namespace pimint
