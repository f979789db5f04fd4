#include "piped_status.hpp"

#include <cctype>
#include <fmt/format.h>

namespace pimint::cli {

std::string status_shape(std::string_view message) {
    std::string shape;
    for (const char c : message) {
        if (std::isdigit(static_cast<unsigned char>(c)) == 0) {
            shape += c;
        } else if (shape.empty() || shape.back() != '#') {
            shape += '#';
        }
    }
    return shape;
}

std::string clock_text(double seconds) {
    const auto s = static_cast<long>(seconds + 0.5);
    return s >= 3600 ? fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
                     : fmt::format("{}:{:02}", s / 60, s % 60);
}

void PipedStatus::status(std::string_view message, Clock::time_point now) {
    if (current_.empty()) {
        last_print_ = now; // the silence starts with the first line
    }
    current_ = message;
    auto shape = status_shape(message);
    if (shape != shape_) {
        shape_ = std::move(shape);
        stage_start_ = now;
        announced_ = false;
    }
}

void PipedStatus::printed(Clock::time_point now) {
    last_print_ = now;
}

std::optional<std::string> PipedStatus::due(Clock::time_point now) {
    if (current_.empty()) {
        return std::nullopt;
    }
    const bool settled = !announced_ && now - stage_start_ >= settle;
    if (!settled && now - last_print_ < heartbeat) {
        return std::nullopt;
    }
    last_print_ = now;
    // A run of quick steps, none of which settles, is shown by its latest step.
    if (!announced_) {
        announced_ = true;
        return current_;
    }
    return fmt::format("{} (still running, {})", current_,
                       clock_text(std::chrono::duration<double>(now - stage_start_).count()));
}

} // namespace pimint::cli
