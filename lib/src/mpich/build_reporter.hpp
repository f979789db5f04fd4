// Status lines from the MPICH build's log, while it runs.
#pragma once

#include "pimint/image/appliance.hpp"

#include <fmt/format.h>
#include <string>
#include <string_view>

namespace pimint {

// Turns what configure and make write to the build log into status lines: which of
// MPICH's bundled packages configure is checking, and how many files make has compiled.
class BuildReporter {
public:
    BuildReporter(const StatusCallback& status, std::string phase)
        : status_(status)
        , phase_(std::move(phase)) {}

    void operator()(std::string_view fresh) {
        partial_ += fresh;
        size_t begin = 0;
        for (size_t end; (end = partial_.find('\n', begin)) != std::string::npos; begin = end + 1) {
            line(std::string_view(partial_).substr(begin, end - begin));
        }
        partial_.erase(0, begin);
        if (compiled_ != reported_) {
            reported_ = compiled_;
            say(fmt::format("{}: {} files compiled", phase_, compiled_));
        }
    }

    size_t compiled() const { return compiled_; }

private:
    void line(std::string_view l) {
        // Silent rules ("  CC       src/mpi/comm/comm_split.lo"), MPICH's own and its
        // bundled packages'.
        const auto word = l.find_first_not_of(' ');
        if (word == 2 && (l.substr(2).starts_with("CC ") || l.substr(2).starts_with("CXX "))) {
            ++compiled_;
            return;
        }
        // "configure: ===== configuring src/mpl =====" and autoconf's
        // "=== configuring in test/mpi (...)".
        const auto at = l.find("configuring ");
        if (at != std::string_view::npos && l.find("===") != std::string_view::npos) {
            auto what = l.substr(at + 12);
            if (what.starts_with("in ")) {
                what.remove_prefix(3);
            }
            what = what.substr(0, what.find_first_of(" ="));
            say(fmt::format("{} ({})", phase_, what));
        }
    }

    void say(const std::string& m) const {
        if (status_) {
            status_(m);
        }
    }

    const StatusCallback& status_;
    std::string phase_;
    std::string partial_;
    size_t compiled_ = 0;
    size_t reported_ = 0;
};

} // namespace pimint
