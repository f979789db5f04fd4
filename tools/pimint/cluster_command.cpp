// `pimint cluster`: a master and N workers from one base image.
#include "command.hpp"
#include "status_display.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pimint/cluster/cluster.hpp>
#include <sys/resource.h>

namespace po = boost::program_options;

namespace pimint::cli {
namespace {

// This process's own peak memory (not the appliance's qemu, a separate process).
long peak_rss_kib() {
    struct rusage usage {};
    ::getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

} // namespace

int run_cluster(const std::vector<std::string>& args) {
    CommonOptions common;
    ClusterOptions options;
    std::string recipe;
    std::string base;
    std::string out;
    std::string keys;
    bool json = false;
    po::options_description desc("Options");
    desc.add_options() //
        ("recipe", po::value(&recipe)->required(),
         "the cluster recipe (TOML with a [cluster] table)") //
        ("base,b", po::value(&base)->required(),
         "the Raspberry Pi OS image to start from (only read)") //
        ("workers,w", po::value<int>()->notifier([&](int n) { options.workers = n; }),
         "number of workers (overrides [cluster].workers)") //
        ("add-workers", po::value(&options.add_workers),
         "add this many workers to the cluster already in DIR (same keys, next numbers); "
         "master.img is rebuilt to list them") //
        ("output,o", po::value(&out)->required(),
         "output directory for master.img, worker001.img, ...") //
        ("keys", po::value(&keys),
         "take the SSH keys from DIR (an earlier output directory) instead of making new ones; "
         "with $SOURCE_DATE_EPOCH set, rebuilds then give the same files") //
        ("layout", po::value<std::string>()->notifier([&](const std::string& l) {
            options.layout = parse_image_layout(l);
        }),
         "full (an image per node, the default) or overlay (DIR/stage.img once and a small "
         "qcow2 overlay per node; pimint burn and materialize write the full images)") //
        ("set", po::value(&options.overrides)->composing(),
         "override a recipe value: --set table.key=value") //
        ("json", po::bool_switch(&json), "print the result as JSON");
    add_common_options(desc, common);
    po::positional_options_description positional;
    positional.add("recipe", 1);
    if (!parse_command_line(
            "cluster",
            "RECIPE --base IMAGE [--workers N | --add-workers K] -o DIR [--keys DIR] "
            "[--set table.key=value ...]\n\n"
            "Writes DIR/master.img and DIR/worker001.img ... (names from the recipe's [cluster] "
            "table), each with its own host name, address, SSH host keys and machine-id; the "
            "master's key in every authorized_keys, the master's known_hosts and machinefile "
            "listing every node; plus DIR/manifest.json and DIR/SHA256SUMS. The cluster's SSH keys "
            "are kept in DIR/.pimint/keys.json (0600), so running again on DIR resumes: images "
            "already finished from the same inputs are kept, the rest are made with the same "
            "keys. With $SOURCE_DATE_EPOCH set (and --keys), files written into the images are "
            "dated at that time and nothing random is added: two builds give the same files.",
            desc, positional, args, common)) {
        return 0;
    }
    options.recipe = recipe;
    options.base = base;
    options.output_dir = out;
    options.keys_dir = keys;
    StatusDisplay status(common.verbose, common.quiet);
    options.status = status.callback();
    options.progress = status.progress_callback();
    const ClusterResult result = build_cluster(options);
    status.clear();
    if (json) {
        nlohmann::json nodes = nlohmann::json::array();
        for (const auto& n : result.nodes) {
            nodes.push_back({{"hostname", n.node.hostname},
                             {"address", n.node.address},
                             {"image", n.image.string()},
                             {"sha256", n.sha256},
                             {"reused", n.reused}});
        }
        fmt::print("{}\n", nlohmann::json{{"nodes", nodes},
                                          {"backend", result.backend},
                                          {"launch_seconds", result.launch_seconds},
                                          {"total_seconds", result.total_seconds},
                                          {"peak_rss_kib", peak_rss_kib()}}
                               .dump(2));
    } else if (!common.quiet) {
        for (const auto& n : result.nodes) {
            fmt::print("{:<12} {:<15} {}{}\n", n.node.hostname, n.node.address, n.image.string(),
                       n.reused ? " (kept)" : "");
        }
        const auto made = std::count_if(result.nodes.begin(), result.nodes.end(),
                                        [](const NodeResult& n) { return !n.reused; });
        if (made == 0) {
            fmt::print("all {} images were up to date ({:.1f} s)\n", result.nodes.size(),
                       result.total_seconds);
        } else {
            fmt::print("{} images made in {:.1f} s ({:.1f} s starting the appliance, {})\n", made,
                       result.total_seconds, result.launch_seconds, result.backend);
        }
    }
    return 0;
}

} // namespace pimint::cli
