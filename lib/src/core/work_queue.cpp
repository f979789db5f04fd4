#include "core/work_queue.hpp"

namespace pimint {

WorkQueue::WorkQueue(size_t threads) {
    for (size_t i = 0; i < threads; ++i) {
        threads_.emplace_back([this] {
            while (auto task = next(true)) {
                task();
            }
        });
    }
}

WorkQueue::~WorkQueue() {
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
        tasks_.clear();
    }
    ready_.notify_all();
    for (auto& t : threads_) {
        t.join();
    }
}

void WorkQueue::push(std::function<void()> task) {
    {
        const std::lock_guard lock(mutex_);
        tasks_.push_back(std::move(task));
    }
    ready_.notify_one();
}

std::function<void()> WorkQueue::next(bool wait) {
    std::unique_lock lock(mutex_);
    if (wait) {
        ready_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
    }
    if (tasks_.empty()) {
        return {};
    }
    auto task = std::move(tasks_.front());
    tasks_.pop_front();
    return task;
}

void WorkQueue::help() {
    while (auto task = next(false)) {
        task();
    }
}

} // namespace pimint
