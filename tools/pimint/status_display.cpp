#include "status_display.hpp"

#include <algorithm>
#include <cstdio>
#include <fmt/format.h>
#include <unistd.h>

namespace pimint::cli {
namespace {

// Images shown at once in the live block; the rest are summed up in the bar.
constexpr size_t shown_images = 6;

bool finished(const std::string& stage) {
    return stage == "done" || stage == "kept";
}

} // namespace

StatusDisplay::StatusDisplay(bool verbose, bool quiet)
    : live_(!quiet && !verbose && ::isatty(STDERR_FILENO) == 1)
    , verbose_(verbose && !quiet)
    , quiet_(quiet) {
    if (!quiet_ && !verbose_) {
        ticker_ = std::thread([this] { tick_until_stopped(); });
    }
}

StatusDisplay::~StatusDisplay() {
    if (ticker_.joinable()) {
        {
            const std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        stop_ticking_.notify_all();
        ticker_.join();
    }
    clear();
}

void StatusDisplay::tick_until_stopped() {
    std::unique_lock lock(mutex_);
    while (!stop_ticking_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; })) {
        if (live_) {
            if (drawn_lines_ > 0) {
                redraw(); // the elapsed time and ETA move on
            }
        } else if (auto line = piped_.due(std::chrono::steady_clock::now())) {
            // Stamped with the run's clock, so a log shows the rhythm and a reader (or a
            // test) tells these lines from results and errors.
            const double elapsed =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
            print_line(fmt::format("[{}] {}", clock_text(elapsed), *line));
        }
    }
}

void StatusDisplay::print_line(const std::string& line) {
    fmt::print(stderr, "pimint: {}\n", line);
    std::fflush(stderr);
    piped_.printed(std::chrono::steady_clock::now());
}

void StatusDisplay::show(std::string_view message) {
    const std::lock_guard lock(mutex_);
    if (verbose_) {
        fmt::print(stderr, "pimint: {}\n", message);
    } else if (live_) {
        status_ = message;
        redraw();
    } else if (!quiet_) {
        piped_.status(message, std::chrono::steady_clock::now());
    }
}

void StatusDisplay::progress(const ProgressEvent& event) {
    const std::lock_guard lock(mutex_);
    last_ = event;
    have_progress_ = true;
    if (!event.image.empty()) {
        auto it = std::find_if(images_.begin(), images_.end(),
                               [&](const auto& p) { return p.first == event.image; });
        if (it == images_.end()) {
            images_.emplace_back(event.image, event.stage);
        } else {
            it->second = event.stage;
        }
    }
    if (live_) {
        redraw();
    } else if (!quiet_ && !event.image.empty() && finished(event.stage)) {
        print_line(fmt::format("{} {} ({}/{})", event.image, event.stage, event.images_done,
                               event.images_total));
    }
}

void StatusDisplay::redraw() {
    std::string block;
    if (drawn_lines_ > 0) {
        block += fmt::format("\033[{}F", drawn_lines_); // to the first line drawn
    }
    block += "\033[J";
    int lines = 0;
    if (have_progress_) {
        size_t shown = 0;
        for (const auto& [image, stage] : images_) {
            if (!finished(stage) && stage != "waiting" && shown < shown_images) {
                block += fmt::format("  {:<20} {}\n", image, stage);
                ++shown;
                ++lines;
            }
        }
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
        constexpr int width = 30;
        const int filled = static_cast<int>(last_.fraction * width);
        std::string eta = "ETA --:--";
        if (last_.fraction > 0.02) {
            eta = "ETA " + clock_text(elapsed / last_.fraction * (1 - last_.fraction));
        }
        block +=
            fmt::format("[{}{}] {:3.0f}%  {}/{} images  {} elapsed  {}\n",
                        std::string(static_cast<size_t>(filled), '#'),
                        std::string(static_cast<size_t>(width - filled), '.'), last_.fraction * 100,
                        last_.images_done, last_.images_total, clock_text(elapsed), eta);
        ++lines;
    }
    if (!status_.empty()) {
        block += status_ + "…\n";
        ++lines;
    }
    fmt::print(stderr, "{}", block);
    std::fflush(stderr);
    drawn_lines_ = lines;
}

void StatusDisplay::clear() {
    const std::lock_guard lock(mutex_);
    piped_ = PipedStatus{}; // the run is over: no heartbeat after its results
    if (drawn_lines_ > 0) {
        fmt::print(stderr, "\033[{}F\033[J", drawn_lines_);
        std::fflush(stderr);
        drawn_lines_ = 0;
    }
}

StatusCallback StatusDisplay::callback() {
    return [this](std::string_view message) { show(message); };
}

ProgressCallback StatusDisplay::progress_callback() {
    return [this](const ProgressEvent& event) { progress(event); };
}

} // namespace pimint::cli
