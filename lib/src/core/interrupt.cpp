#include "pimint/core/interrupt.hpp"

#include "pimint/core/error.hpp"

#include <csignal>

namespace pimint {
namespace {

volatile std::sig_atomic_t requested = 0;

extern "C" void on_signal(int signal) {
    requested = 1;
    std::signal(signal, SIG_DFL); // the second one is not caught
}

} // namespace

void install_interrupt_handlers() {
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
}

bool interrupt_requested() noexcept {
    return requested != 0;
}

void check_interrupted() {
    if (interrupt_requested()) {
        throw Error(ErrorCategory::interrupted, "",
                    "interrupted; temporary files removed, finished outputs kept");
    }
}

} // namespace pimint
