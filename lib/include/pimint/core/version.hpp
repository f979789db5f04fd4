#pragma once

#include <string_view>

namespace pimint {

// The library's version ("0.1.0"), as built.
std::string_view version() noexcept;

} // namespace pimint
