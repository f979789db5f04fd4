// Tasks run in the order they are added on a few background threads, while the thread
// that adds them does other work (the appliance's); when that work is done, it helps
// with what is left. Under emulation the appliance takes one core, so hashing images and
// making keys take the other, and both cores once the appliance is done.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace pimint {

class WorkQueue {
public:
    explicit WorkQueue(size_t threads);
    // Drops the tasks not started (their futures report a broken promise) and waits for
    // those running.
    ~WorkQueue();
    WorkQueue(const WorkQueue&) = delete;
    WorkQueue& operator=(const WorkQueue&) = delete;

    // Queues `task`; its future holds its result or its exception.
    template <class F>
    auto add(F task) -> std::future<decltype(task())> {
        auto packaged = std::make_shared<std::packaged_task<decltype(task())()>>(std::move(task));
        auto result = packaged->get_future();
        push([packaged] { (*packaged)(); });
        return result;
    }

    // Runs queued tasks on the calling thread too, until none is left to start.
    void help();

private:
    void push(std::function<void()> task);
    // The next task, or none when the queue is empty and (`wait`) stopping.
    std::function<void()> next(bool wait);

    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<std::function<void()>> tasks_;
    bool stopping_ = false;
    std::vector<std::thread> threads_; // last: they end before what they use
};

} // namespace pimint
