#include "image/image_arch.hpp"

#include "image/elf_arch.hpp"
#include "pimint/core/error.hpp"

#include <algorithm>
#include <array>
#include <fmt/format.h>
#include <vector>

namespace pimint {

ImageArch read_image_arch(ImageFs& fs) {
    // Raspberry Pi OS's own first, then whatever other multiarch libc the image has.
    std::vector<std::string> triplets{"arm-linux-gnueabihf", "aarch64-linux-gnu",
                                      "arm-linux-gnueabi"};
    for (const char* dir : {"/usr/lib", "/lib"}) {
        const auto stat = fs.stat(dir);
        if (!stat || stat->type != FileStat::Type::directory) {
            continue;
        }
        for (const auto& entry : fs.list(dir)) {
            if (entry.find("-linux-gnu") != std::string::npos &&
                std::find(triplets.begin(), triplets.end(), entry) == triplets.end()) {
                triplets.push_back(entry);
            }
        }
    }
    for (const auto& triplet : triplets) {
        for (const char* dir : {"/usr/lib/", "/lib/"}) {
            const std::string libc = dir + triplet + "/libc.so.6";
            if (fs.exists(libc)) {
                const ElfArch arch = read_elf_arch(fs.read(libc), libc);
                return {arch.architecture, arch.code_baseline, triplet};
            }
        }
    }
    return {};
}

void require_pi_architecture(const Layout& layout, const std::string& image) {
    if (layout.architecture.empty() || layout.architecture == "armhf" ||
        layout.architecture == "arm64") {
        return;
    }
    throw Error(ErrorCategory::image, image,
                fmt::format("the image is built for {} (its libc in /usr/lib/{}), not for a "
                            "Raspberry Pi; use a Raspberry Pi OS image: 32-bit (armhf) or "
                            "64-bit (arm64)",
                            layout.architecture, layout.multiarch));
}

} // namespace pimint
