// Where pimint keeps what it builds once and reuses: $PIMINT_CACHE_DIR, else
// $XDG_CACHE_HOME/pimint, else ~/.cache/pimint.
#pragma once

#include <filesystem>

namespace pimint {

std::filesystem::path cache_dir();

} // namespace pimint
