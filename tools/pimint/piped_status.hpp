// What a run prints of its status lines when stderr is not a terminal (a log, CI, a
// pipe): a stage is announced once it has lasted a moment, so fast steps stay quiet,
// and the output is never silent for more than `heartbeat` while the run works: the
// latest line is printed then, with how long its stage has run when it was announced
// already. Pure (the time is passed in), so its rhythm is tested without waiting.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace pimint::cli {

class PipedStatus {
public:
    using Clock = std::chrono::steady_clock;

    // A stage is announced once it has been current this long.
    static constexpr std::chrono::seconds settle{2};
    // The longest silence while a stage runs: under the 30 s promised, since lines are
    // only printed on the display's one-second tick.
    static constexpr std::chrono::seconds heartbeat{25};

    // A new status line. Lines that differ only in their numbers ("412 files", "530
    // files") continue the same stage.
    void status(std::string_view message, Clock::time_point now);
    // Something else was printed (a finished image): that breaks the silence too.
    void printed(Clock::time_point now);
    // What to print now, if anything; call it often (every second or so).
    std::optional<std::string> due(Clock::time_point now);

private:
    std::string current_;
    std::string shape_; // current_ with its digits folded
    Clock::time_point stage_start_{};
    Clock::time_point last_print_{};
    bool announced_ = true; // nothing to announce before the first line
};

// `message` with every run of digits replaced by '#'.
std::string status_shape(std::string_view message);

// A duration as M:SS, or H:MM:SS from an hour on.
std::string clock_text(double seconds);

} // namespace pimint::cli
