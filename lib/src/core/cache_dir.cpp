#include "core/cache_dir.hpp"

#include <cstdlib>

namespace pimint {

std::filesystem::path cache_dir() {
    if (const char* dir = std::getenv("PIMINT_CACHE_DIR"); dir != nullptr && *dir != '\0') {
        return dir;
    }
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg == '/') {
        return std::filesystem::path(xdg) / "pimint";
    }
    const char* home = std::getenv("HOME");
    return std::filesystem::path(home != nullptr ? home : "/tmp") / ".cache" / "pimint";
}

} // namespace pimint
