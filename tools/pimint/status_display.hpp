// How the CLI shows progress. On a terminal (stderr): a live block, redrawn in place, with
// the images being worked on, the run's progress bar and ETA, and the latest status line.
// Not on a terminal: one plain line per finished image (stderr; stdout stays for
// results). --verbose prints every status line as well; --quiet prints nothing.
#pragma once

#include <chrono>
#include <pimint/appliance.hpp>
#include <pimint/cluster.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pimint::cli {

class StatusDisplay {
public:
    StatusDisplay(bool verbose, bool quiet);
    ~StatusDisplay();
    StatusDisplay(const StatusDisplay&) = delete;
    StatusDisplay& operator=(const StatusDisplay&) = delete;

    void show(std::string_view message);
    void progress(const ProgressEvent& event);
    // Removes the live block (before printing results or an error).
    void clear();
    StatusCallback callback();
    ProgressCallback progress_callback();

private:
    void redraw();

    bool live_;    // redraw a block on a terminal
    bool verbose_; // one line per status
    bool quiet_;
    int drawn_lines_ = 0;
    std::string status_;
    std::vector<std::pair<std::string, std::string>> images_; // image, stage
    ProgressEvent last_;
    bool have_progress_ = false;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

} // namespace pimint::cli
