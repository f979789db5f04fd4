#include "pimint/core/version.hpp"

namespace pimint {

std::string_view version() noexcept {
    return PIMINT_VERSION;
}

} // namespace pimint
