#include "core/work_queue.hpp"

#include <doctest/doctest.h>
#include <stdexcept>
#include <thread>

using namespace pimint;

TEST_CASE("a work queue runs every task once and hands back results and errors") {
    WorkQueue queue(2);
    std::vector<std::future<int>> results;
    for (int i = 0; i < 20; ++i) {
        results.push_back(queue.add([i] { return i * i; }));
    }
    auto failing = queue.add([]() -> int { throw std::runtime_error("task failed"); });
    queue.help();
    for (int i = 0; i < 20; ++i) {
        CHECK(results[static_cast<size_t>(i)].get() == i * i);
    }
    CHECK_THROWS_WITH_AS(failing.get(), "task failed", std::runtime_error);
}

TEST_CASE("the caller's help runs what is queued while the queue's threads are busy") {
    WorkQueue queue(1);
    std::promise<void> started;
    std::promise<void> gate;
    auto opened = gate.get_future();
    auto busy = queue.add([&] {
        started.set_value();
        opened.wait();
        return std::this_thread::get_id();
    });
    started.get_future().wait(); // the queue's only thread is held in `busy`
    auto next = queue.add([] { return std::this_thread::get_id(); });
    queue.help();
    REQUIRE(next.wait_for(std::chrono::seconds(0)) == std::future_status::ready);
    CHECK(next.get() == std::this_thread::get_id());
    gate.set_value();
    CHECK(busy.get() != std::this_thread::get_id());
}

TEST_CASE("a work queue dropped with tasks not started breaks their promises") {
    std::future<int> never;
    {
        WorkQueue queue(0); // no thread: nothing starts unless the caller helps
        never = queue.add([] { return 1; });
    }
    CHECK_THROWS_AS(never.get(), std::future_error);
}
