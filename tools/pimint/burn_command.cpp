// `pimint burn`: one node or image onto one card or file, or a burn station over several
// readers. A block device is written only after a yes at the terminal or with --yes.
#include "command.hpp"

#include <chrono>
#include <cstdio>
#include <fmt/format.h>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <pimint/cards/burn.hpp>
#include <pimint/core/error.hpp>
#include <string>
#include <unistd.h>

namespace po = boost::program_options;

namespace pimint::cli {
namespace {

std::string megabytes(std::uint64_t bytes) {
    return bytes >= 1000000000 ? fmt::format("{:.1f} GB", static_cast<double>(bytes) / 1e9)
                               : fmt::format("{} MB", bytes / 1000000);
}

std::string describe(const CardTarget& t) {
    if (!t.block_device) {
        return t.size
                   ? fmt::format("the file {} ({}, replaced)", t.path.string(), megabytes(t.size))
                   : fmt::format("the new file {}", t.path.string());
    }
    return fmt::format("{} ({}{})", t.path.string(), t.model.empty() ? "" : t.model + ", ",
                       megabytes(t.size));
}

// Asks at the terminal before anything on a card is overwritten; without a terminal,
// only --yes lets a block device be written.
void confirm(const std::string& what, bool block_device, bool yes) {
    if (yes) {
        return;
    }
    if (!::isatty(STDIN_FILENO) || !::isatty(STDERR_FILENO)) {
        if (block_device) {
            throw Error(ErrorCategory::usage, "--yes",
                        "writing a card without a terminal to confirm at needs --yes");
        }
        return;
    }
    fmt::print(stderr, "{}\nEverything on it is replaced. Continue? [y/N] ", what);
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "y" && answer != "Y" && answer != "yes") {
        throw Error(ErrorCategory::usage, "burn", "stopped: nothing was written");
    }
}

// A progress bar with MB/s and the time left, redrawn on a terminal; nothing when piped.
class ProgressBar {
public:
    explicit ProgressBar(bool enabled)
        : enabled_(enabled && ::isatty(STDERR_FILENO)) {}

    void draw(const std::string& name, const BurnProgress& p) {
        if (!enabled_ || p.total == 0) {
            return;
        }
        const std::lock_guard lock(mutex_);
        const auto now = std::chrono::steady_clock::now();
        if (now - last_ < std::chrono::milliseconds(200) && p.done < p.total) {
            return;
        }
        last_ = now;
        const double share = static_cast<double>(p.done) / static_cast<double>(p.total);
        const double rate = p.seconds > 0 ? static_cast<double>(p.done) / p.seconds / 1e6 : 0;
        const double left = share > 0 ? p.seconds / share * (1 - share) : 0;
        const int width = 30;
        const int full = static_cast<int>(share * width);
        fmt::print(stderr, "\r{} [{}{}] {:3.0f}% {:<9} {:6.1f} MB/s  {}:{:02} left ", name,
                   std::string(static_cast<std::size_t>(full), '#'),
                   std::string(static_cast<std::size_t>(width - full), ' '), share * 100, p.phase,
                   rate, static_cast<int>(left) / 60, static_cast<int>(left) % 60);
        drawn_ = true;
    }

    void clear() {
        if (drawn_) {
            fmt::print(stderr, "\r\033[K");
            drawn_ = false;
        }
    }

private:
    bool enabled_;
    bool drawn_ = false;
    std::mutex mutex_;
    std::chrono::steady_clock::time_point last_{};
};

int burn_one(const std::string& from, const std::string& node, const std::string& to, bool yes,
             bool json, const CommonOptions& common) {
    const BurnSource source = burn_source(from, node);
    const CardTarget target = probe_target(to);
    refuse_unsafe_target(target, source.size);
    if (target.block_device || target.size > 0) {
        confirm(fmt::format("Write {} ({}) to {}?", source.label, megabytes(source.size),
                            describe(target)),
                target.block_device, yes);
    }
    ProgressBar bar(!common.quiet && !json);
    const BurnResult r =
        burn_card(source, target, [&](const BurnProgress& p) { bar.draw(source.hostname, p); });
    bar.clear();
    const double mb_per_s =
        r.write_seconds > 0 ? static_cast<double>(r.written) / r.write_seconds / 1e6 : 0;
    if (json) {
        fmt::print("{}\n", nlohmann::json{{"node", source.hostname},
                                          {"label", source.label},
                                          {"image", source.image.string()},
                                          {"target", target.path.string()},
                                          {"image_size", r.image_size},
                                          {"written", r.written},
                                          {"sha256", r.sha256},
                                          {"verified", true},
                                          {"write_seconds", r.write_seconds},
                                          {"verify_seconds", r.verify_seconds},
                                          {"write_mb_per_s", mb_per_s}}
                               .dump(2));
    } else if (!common.quiet) {
        fmt::print("{} written to {}: {} of {} in {:.1f} s ({:.1f} MB/s), read back and verified "
                   "(SHA-256 {}).\n{}\n",
                   source.label, target.path.string(), megabytes(r.written),
                   megabytes(r.image_size), r.write_seconds, mb_per_s, r.sha256,
                   target.block_device ? "Synced: the card may be removed." : "Synced.");
    }
    return 0;
}

int burn_station(const std::string& dir, const std::vector<std::string>& to, bool yes, bool json,
                 const CommonOptions& common) {
    StationOptions options;
    options.dir = dir;
    std::string list;
    bool any_device = false;
    for (const auto& reader : to) {
        options.readers.emplace_back(reader);
        const CardTarget target = probe_target(reader);
        list += "\n  " + describe(target);
        any_device = any_device || target.block_device;
    }
    confirm(fmt::format("Write the nodes of {} onto every card put into:{}", dir, list), any_device,
            yes);
    std::mutex print;
    options.status = [&](std::string_view line) {
        if (!common.quiet) {
            const std::lock_guard lock(print);
            fmt::print(stderr, "pimint: {}\n", line);
        }
    };
    const StationResult r = run_burn_station(options);
    if (json) {
        nlohmann::json cards = nlohmann::json::array();
        for (const auto& c : r.burned) {
            cards.push_back({{"node", c.node.hostname},
                             {"label", c.node.label},
                             {"reader", c.reader.string()},
                             {"sha256", c.result.sha256}});
        }
        fmt::print("{}\n", nlohmann::json{{"burned", cards}, {"skipped", r.skipped}}.dump(2));
    } else if (!common.quiet) {
        for (const auto& c : r.burned) {
            fmt::print("{:<24} {}\n", c.node.label, c.reader.string());
        }
        fmt::print("{} cards written this session, {} earlier; the record is {}/burned.csv\n",
                   r.burned.size(), r.skipped.size(), dir);
    }
    return 0;
}

} // namespace

int run_burn(const std::vector<std::string>& args) {
    CommonOptions common;
    std::string from;
    std::string node;
    std::vector<std::string> to;
    bool station = false;
    bool yes = false;
    bool json = false;
    po::options_description desc("Options");
    desc.add_options()                                                                      //
        ("from", po::value(&from)->required(), "a directory pimint made, or an image file") //
        ("node", po::value(&node), "the node to write: its host name (with a directory)")   //
        ("to", po::value(&to)->required()->composing(),
         "the card's block device or a file; with --station, one per card reader") //
        ("station", po::bool_switch(&station),
         "write every node not yet in DIR/burned.csv, each onto the next reader with a card") //
        ("yes,y", po::bool_switch(&yes), "do not ask before overwriting a card")              //
        ("json", po::bool_switch(&json), "print the result as JSON");
    add_common_options(desc, common);
    po::positional_options_description positional;
    positional.add("from", 1).add("node", 1);
    if (!parse_command_line(
            "burn",
            "DIR NODE --to TARGET | IMAGE --to TARGET | DIR --station --to READER...\n\n"
            "Writes the image's data ranges to TARGET (a card's block device or a file), "
            "syncs, and reads each range back past the cache to compare it with the image's; "
            "the image must match the SHA-256 its manifest records. "
            "Refuses a mounted device, the disk holding /, a card smaller than the image and "
            "anything but a block device or a file (exit code 9). As a station, each reader "
            "takes the next node as soon as a card is in it (a device whose size is no longer "
            "0, or a file that exists), all readers at once, and DIR/burned.csv records which "
            "node went on which card so that a stopped session resumes.",
            desc, positional, args, common)) {
        return 0;
    }
    if (station) {
        if (!node.empty()) {
            throw Error(ErrorCategory::usage, "--station",
                        "a station writes every node of DIR; leave out NODE");
        }
        return burn_station(from, to, yes, json, common);
    }
    if (to.size() != 1) {
        throw Error(ErrorCategory::usage, "--to",
                    "give one target, or --station to write several cards");
    }
    return burn_one(from, node, to.front(), yes, json, common);
}

} // namespace pimint::cli
