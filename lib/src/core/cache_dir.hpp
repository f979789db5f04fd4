// Where pimint keeps what it builds once and reuses: $PIMINT_CACHE_DIR, else
// $XDG_CACHE_HOME/pimint, else ~/.cache/pimint.
#pragma once

#include "core/file_handle.hpp"

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace pimint {

std::filesystem::path cache_dir();

// Takes the exclusive lock `lock_path` (created if needed) on a part of the cache that
// one run at a time may change, waiting while another pimint holds it; `say` hears
// `waiting_note` once when it has to wait. The wait is polled, so Ctrl-C still stops it.
FdHandle lock_cache(const std::filesystem::path& lock_path, const std::string& waiting_note,
                    const std::function<void(std::string_view)>& say);

} // namespace pimint
