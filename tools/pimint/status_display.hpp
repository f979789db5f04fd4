// How the CLI shows progress. On a terminal (stderr): a live block, redrawn in place and
// every second, with the images being worked on, the run's progress bar and ETA, and the
// latest status line. Not on a terminal: one plain line per finished image, and a line
// for each stage that lasts (PipedStatus: announced when it starts, repeated at least
// every 30 s while it runs) on stderr; stdout stays for results. --verbose prints every
// status line as well; --quiet prints nothing. The library calls back from more than
// one thread, and a ticker thread of its own keeps the clock and the heartbeat going.
#pragma once

#include "piped_status.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <pimint/cluster/cluster.hpp>
#include <pimint/image/appliance.hpp>
#include <string>
#include <string_view>
#include <thread>
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
    void tick_until_stopped();
    void print_line(const std::string& line);

    bool live_;    // redraw a block on a terminal
    bool verbose_; // one line per status
    bool quiet_;
    int drawn_lines_ = 0;
    std::string status_;
    std::vector<std::pair<std::string, std::string>> images_; // image, stage
    ProgressEvent last_;
    bool have_progress_ = false;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
    PipedStatus piped_;
    std::mutex mutex_;
    std::condition_variable stop_ticking_;
    bool stopping_ = false;
    std::thread ticker_; // last: started once everything above exists
};

} // namespace pimint::cli
