#include "core/cache_dir.hpp"

#include "pimint/core/error.hpp"
#include "pimint/core/interrupt.hpp"

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <thread>

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

FdHandle lock_cache(const std::filesystem::path& lock_path, const std::string& waiting_note,
                    const std::function<void(std::string_view)>& say) {
    FdHandle lock(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
        if (say) {
            say(waiting_note);
        }
        while (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
            if (errno != EWOULDBLOCK && errno != EINTR) {
                throw Error(ErrorCategory::io, lock_path.string(),
                            fmt::format("cannot lock this part of pimint's cache: {}",
                                        std::strerror(errno)));
            }
            check_interrupted();
            std::this_thread::sleep_for(std::chrono::seconds(1));
        }
    }
    return lock;
}

} // namespace pimint
