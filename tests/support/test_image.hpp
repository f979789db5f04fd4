// The generated Raspbian-layout test image, built (or taken from the cache) by
// tools/make-test-image on first use.
#pragma once

#include <filesystem>
#include <string>

namespace pimint::test {

// Runs tools/make-test-image --layout `layout` --arch `arch` and returns the image path
// it prints.
std::filesystem::path test_image(const std::string& layout = "stretch",
                                 const std::string& arch = "armhf");

} // namespace pimint::test
