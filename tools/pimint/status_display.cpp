#include "status_display.hpp"

#include <cstdio>
#include <fmt/format.h>
#include <unistd.h>

namespace pimint::cli {

StatusDisplay::StatusDisplay(bool verbose, bool quiet)
    : live_(!quiet && !verbose && ::isatty(STDERR_FILENO) == 1)
    , verbose_(verbose && !quiet) {}

StatusDisplay::~StatusDisplay() {
    clear();
}

void StatusDisplay::show(std::string_view message) {
    if (verbose_) {
        fmt::print(stderr, "pimint: {}\n", message);
    } else if (live_) {
        fmt::print(stderr, "\r\033[K{}…", message);
        std::fflush(stderr);
        dirty_ = true;
    }
}

void StatusDisplay::clear() {
    if (dirty_) {
        fmt::print(stderr, "\r\033[K");
        std::fflush(stderr);
        dirty_ = false;
    }
}

StatusCallback StatusDisplay::callback() {
    return [this](std::string_view message) { show(message); };
}

} // namespace pimint::cli
