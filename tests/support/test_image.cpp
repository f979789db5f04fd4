#include "test_image.hpp"

#include "run.hpp"

#include <cstdlib>
#include <stdexcept>

namespace pimint::test {

std::filesystem::path test_image(const std::string& layout, const std::string& arch) {
    const char* script = std::getenv("PIMINT_MAKE_TEST_IMAGE");
    if (script == nullptr) {
        throw std::runtime_error(
            "PIMINT_MAKE_TEST_IMAGE is not set; run the tests with meson test");
    }
    const RunResult r = run({script, "--layout", layout, "--arch", arch});
    if (r.exit_code != 0) {
        throw std::runtime_error("tools/make-test-image failed (exit " +
                                 std::to_string(r.exit_code) + "): " + r.err);
    }
    std::string out = r.out;
    while (!out.empty() && out.back() == '\n') {
        out.pop_back();
    }
    const auto nl = out.rfind('\n');
    return out.substr(nl == std::string::npos ? 0 : nl + 1);
}

} // namespace pimint::test
