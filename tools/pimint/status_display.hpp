// How the CLI shows progress: a self-overwriting status line when stderr is a terminal,
// nothing when piped (unless --verbose, which prints each status on its own line).
#pragma once

#include <pimint/appliance.hpp>
#include <string_view>

namespace pimint::cli {

class StatusDisplay {
public:
    StatusDisplay(bool verbose, bool quiet);
    ~StatusDisplay();
    StatusDisplay(const StatusDisplay&) = delete;
    StatusDisplay& operator=(const StatusDisplay&) = delete;

    void show(std::string_view message);
    // Removes the status line (before printing results or an error).
    void clear();
    StatusCallback callback();

private:
    bool live_;    // overwrite one line on a terminal
    bool verbose_; // one line per status
    bool dirty_ = false;
};

} // namespace pimint::cli
