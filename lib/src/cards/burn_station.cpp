// Several card readers writing one class: each reader waits for a card, takes the next
// node nobody has taken, writes and verifies it, records it, and waits for the card to
// be taken out before it takes another. A card the reader refuses (mounted by the
// desktop, too small) gives its node back and waits to be taken out.
#include "pimint/cards/burn.hpp"
#include "pimint/core/error.hpp"
#include "pimint/core/interrupt.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <exception>
#include <fcntl.h>
#include <fmt/format.h>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unistd.h>

namespace pimint {
namespace {

constexpr const char* csv_header = "hostname,label,reader,model,sha256,finished\n";

std::string csv_field(std::string s) {
    for (char& c : s) {
        if (c == ',' || c == '\n' || c == '\r') {
            c = ' ';
        }
    }
    return s;
}

std::set<std::string> burned_hostnames(const std::filesystem::path& csv) {
    std::set<std::string> out;
    std::ifstream in(csv);
    std::string line;
    std::getline(in, line); // the header
    while (std::getline(in, line)) {
        // Only whole lines count: a line cut by a crash has no final field.
        if (std::count(line.begin(), line.end(), ',') == 5) {
            out.insert(line.substr(0, line.find(',')));
        }
    }
    return out;
}

std::string utc_now() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

class Station {
public:
    Station(const StationOptions& options, std::vector<BurnSource> nodes)
        : options_(options)
        , nodes_(std::move(nodes))
        , csv_(options.dir / "burned.csv") {
        for (std::size_t i = 0; i < nodes_.size(); ++i) {
            pending_.insert(i);
        }
    }

    StationResult run() {
        std::vector<std::thread> readers;
        for (const auto& reader : options_.readers) {
            readers.emplace_back([this, reader] { serve(reader); });
        }
        for (auto& t : readers) {
            t.join();
        }
        if (error_) {
            std::rethrow_exception(error_);
        }
        return std::move(result_);
    }

private:
    bool stopping() {
        const std::lock_guard lock(mutex_);
        return error_ != nullptr || interrupt_requested();
    }

    void say(const std::string& line) {
        if (options_.status) {
            options_.status(line);
        }
    }

    // A card is in the reader: a block device that reports a size, or a file that exists.
    static bool has_card(const CardTarget& t) { return t.block_device ? t.size > 0 : exists(t); }
    static bool exists(const CardTarget& t) { return std::filesystem::exists(t.path); }

    // Waits until want(probe) holds; false when the station stops or no node is left.
    template <typename Want>
    bool wait_for(const std::filesystem::path& reader, Want want) {
        for (;;) {
            if (stopping()) {
                return false;
            }
            {
                const std::lock_guard lock(mutex_);
                if (pending_.empty()) {
                    return false;
                }
            }
            if (want(probe_target(reader))) {
                return true;
            }
            std::this_thread::sleep_for(std::chrono::duration<double>(options_.poll_seconds));
        }
    }

    std::optional<std::size_t> take() {
        const std::lock_guard lock(mutex_);
        if (pending_.empty()) {
            return std::nullopt;
        }
        const std::size_t next = *pending_.begin();
        pending_.erase(pending_.begin());
        return next;
    }

    void give_back(std::size_t node) {
        const std::lock_guard lock(mutex_);
        pending_.insert(node);
    }

    void record(const StationCard& card) {
        const std::lock_guard lock(mutex_);
        const bool fresh = !std::filesystem::exists(csv_);
        const std::string line = fmt::format(
            "{}{},{},{},{},{},{}\n", fresh ? csv_header : "", csv_field(card.node.hostname),
            csv_field(card.node.label), csv_field(card.reader.string()), csv_field(card.model),
            card.result.sha256, utc_now());
        // One write of whole lines, synced: an interrupted session keeps every card it
        // recorded and no half line.
        const int fd = ::open(csv_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        const bool ok =
            fd >= 0 && ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
            ::fsync(fd) == 0;
        const int err = errno;
        if (fd >= 0) {
            ::close(fd);
        }
        if (!ok) {
            throw Error(ErrorCategory::io, csv_.string(),
                        fmt::format("cannot record the card: {}", std::strerror(err)));
        }
        result_.burned.push_back(card);
    }

    void serve(const std::filesystem::path& reader) {
        try {
            while (wait_for(reader, has_card)) {
                const auto node = take();
                if (!node) {
                    return;
                }
                const BurnSource& source = nodes_[*node];
                const CardTarget card = probe_target(reader);
                say(fmt::format("{}: writing {} ({}{})", reader.string(), source.label,
                                card.model.empty() ? "" : card.model + ", ",
                                card.size ? fmt::format("{} MB", card.size / 1000000) : "file"));
                try {
                    const BurnResult r = burn_card(source, card, [&](const BurnProgress& p) {
                        if (options_.progress) {
                            options_.progress(reader, p);
                        }
                    });
                    record({source, reader, card.model, r});
                    say(fmt::format("{}: {} done and verified; label the card \"{}\" and take "
                                    "it out",
                                    reader.string(), source.hostname, source.label));
                } catch (const Error& e) {
                    if (e.category() != ErrorCategory::target) {
                        throw;
                    }
                    give_back(*node);
                    say(fmt::format("{}: card refused: {}; take it out", reader.string(),
                                    e.message()));
                }
                if (!wait_for(reader, [](const CardTarget& t) { return !has_card(t); })) {
                    return;
                }
            }
        } catch (...) {
            const std::lock_guard lock(mutex_);
            if (!error_) {
                error_ = std::current_exception();
            }
        }
    }

    const StationOptions& options_;
    std::vector<BurnSource> nodes_;
    std::filesystem::path csv_;
    std::mutex mutex_;
    std::set<std::size_t> pending_; // indexes into nodes_, handed out lowest first
    StationResult result_;
    std::exception_ptr error_;
};

} // namespace

StationResult run_burn_station(const StationOptions& options) {
    if (options.readers.empty()) {
        throw Error(ErrorCategory::usage, "--to", "give at least one card reader: --to /dev/sdX");
    }
    for (const auto& reader : options.readers) {
        probe_target(reader); // not a device or file: refused before any card is written
    }
    const auto done = burned_hostnames(options.dir / "burned.csv");
    std::vector<BurnSource> remaining;
    StationResult skipped;
    for (auto& node : burn_sources(options.dir)) {
        if (done.count(node.hostname) != 0) {
            skipped.skipped.push_back(node.hostname);
        } else {
            remaining.push_back(std::move(node));
        }
    }
    StationResult result = Station(options, std::move(remaining)).run();
    check_interrupted();
    result.skipped = std::move(skipped.skipped);
    return result;
}

} // namespace pimint
