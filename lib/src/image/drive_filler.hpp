// Writes the content of an appliance's pending drives (Appliance::add_pending_image) on a
// host thread, one after the other in the order they were added, while the appliance
// starts and works on the drives before them. Under emulation a launch takes seconds, as
// do copying an image and editing one: this way the copies hide behind the rest.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <list>
#include <thread>

namespace pimint {

class DriveFiller {
public:
    using Clock = std::chrono::steady_clock;

    DriveFiller() = default;
    // Stops after the fill under way (the fills not started never run) and waits for it.
    ~DriveFiller();
    DriveFiller(const DriveFiller&) = delete;
    DriveFiller& operator=(const DriveFiller&) = delete;

    // Queues `fill`, to run once the fills queued before it are done and `after` (when
    // valid) is ready. Its future is ready when it has run and holds the time it began
    // (for Appliance::image_filled) or its error; a fill whose `after` failed fails with
    // the same error. Before start() only.
    std::shared_future<Clock::time_point> add(std::function<void()> fill,
                                              std::shared_future<void> after = {});
    // Starts the thread that runs the fills.
    void start();

private:
    struct Fill {
        std::function<void()> run;
        std::shared_future<void> after;
        std::promise<Clock::time_point> done;
    };
    void run_all();

    std::list<Fill> fills_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

} // namespace pimint
