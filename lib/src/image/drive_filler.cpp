#include "image/drive_filler.hpp"

#include "pimint/core/error.hpp"
#include "pimint/core/interrupt.hpp"

namespace pimint {

DriveFiller::~DriveFiller() {
    stop_ = true;
    if (thread_.joinable()) {
        thread_.join();
    }
}

std::shared_future<DriveFiller::Clock::time_point>
DriveFiller::add(std::function<void()> fill, std::shared_future<void> after) {
    if (thread_.joinable()) {
        throw Error(ErrorCategory::internal, "drive filler", "add() after start()");
    }
    auto& f = fills_.emplace_back(Fill{std::move(fill), std::move(after), {}});
    return f.done.get_future().share();
}

void DriveFiller::start() {
    thread_ = std::thread([this] { run_all(); });
}

void DriveFiller::run_all() {
    for (auto& f : fills_) {
        try {
            if (f.after.valid()) {
                // Polled, so that a run stopping while a stage is made ends this thread.
                while (f.after.wait_for(std::chrono::milliseconds(100)) !=
                       std::future_status::ready) {
                    if (stop_) {
                        return;
                    }
                }
                f.after.get();
            }
            if (stop_) {
                return;
            }
            check_interrupted(); // the main thread, waiting for this fill, gets the error
            const auto began = Clock::now();
            f.run();
            f.done.set_value(began);
        } catch (...) {
            f.done.set_exception(std::current_exception());
        }
    }
}

} // namespace pimint
