// What `pimint cluster` and `pimint apply` print of their status when stderr is a pipe:
// every stage that lasts is announced, a long one is never silent for more than 30 s,
// and quick steps stay quiet.
#include "piped_status.hpp"

#include <doctest/doctest.h>
#include <string>
#include <vector>

using pimint::cli::PipedStatus;
using namespace std::chrono_literals;

namespace {

// Feeds `status` lines at the given seconds and asks what is due every second up to
// `end`; returns what would be printed, each with the second it was printed at.
struct Printed {
    int at;
    std::string line;
};

std::vector<Printed> run(const std::vector<std::pair<int, std::string>>& lines, int end) {
    PipedStatus piped;
    const auto t0 = PipedStatus::Clock::time_point{} + 1000s;
    std::vector<Printed> printed;
    size_t next = 0;
    for (int second = 0; second <= end; ++second) {
        while (next < lines.size() && lines[next].first == second) {
            piped.status(lines[next].second, t0 + std::chrono::seconds(second));
            ++next;
        }
        if (auto line = piped.due(t0 + std::chrono::seconds(second))) {
            printed.push_back({second, *line});
        }
    }
    return printed;
}

} // namespace

TEST_CASE("a long stage is announced once it has lasted a moment, then every 25 s") {
    const auto printed = run({{0, "starting the appliance (tcg)"}}, 100);
    REQUIRE(printed.size() == 4);
    CHECK(printed[0].at == 2);
    CHECK(printed[0].line == "starting the appliance (tcg)");
    CHECK(printed[1].at == 27);
    CHECK(printed[1].line == "starting the appliance (tcg) (still running, 0:27)");
    CHECK(printed[2].at == 52);
    CHECK(printed[3].at == 77);
    CHECK(printed[3].line == "starting the appliance (tcg) (still running, 1:17)");
}

TEST_CASE("a counter that moves continues its stage and is shown at its latest value") {
    std::vector<std::pair<int, std::string>> lines{{0, "MPICH: compiling with 2 jobs"}};
    for (int s = 1; s <= 70; s += 2) {
        lines.emplace_back(s, "MPICH: compiling with 2 jobs: " + std::to_string(s * 10) +
                                  " files compiled");
    }
    const auto printed = run(lines, 70);
    // The stage changed at second 1 (the count appeared); the count alone does not.
    REQUIRE(printed.size() == 3);
    CHECK(printed[0].at == 3);
    CHECK(printed[0].line == "MPICH: compiling with 2 jobs: 30 files compiled");
    CHECK(printed[1].at == 28);
    CHECK(printed[1].line ==
          "MPICH: compiling with 2 jobs: 270 files compiled (still running, 0:27)");
    CHECK(printed[2].at == 53);
}

TEST_CASE("quick steps stay quiet; the silence never lasts more than 30 s") {
    std::vector<std::pair<int, std::string>> lines;
    for (int s = 0; s < 95; ++s) {
        lines.emplace_back(s, "worker" + std::string(s % 2 ? "a" : "b") + ": applying [hostname]");
    }
    const auto printed = run(lines, 95);
    REQUIRE(!printed.empty());
    CHECK(printed.front().at <= 30);
    for (size_t i = 1; i < printed.size(); ++i) {
        CHECK(printed[i].at - printed[i - 1].at <= 30);
    }
    CHECK(printed.size() <= 4);
}

TEST_CASE("another printed line counts as speaking") {
    PipedStatus piped;
    const auto t0 = PipedStatus::Clock::time_point{} + 1000s;
    piped.status("hashing the images", t0);
    CHECK(piped.due(t0 + 2s) == "hashing the images");
    piped.printed(t0 + 20s); // "worker001.img done (1/3)"
    CHECK(!piped.due(t0 + 40s));
    CHECK(piped.due(t0 + 45s) == "hashing the images (still running, 0:45)");
}

TEST_CASE("nothing is printed before the first status line") {
    PipedStatus piped;
    CHECK(!piped.due(PipedStatus::Clock::time_point{} + 1000s));
}
