// `pimint cluster`: a master and N workers from one base image.
#include "command.hpp"
#include "status_display.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pimint/cluster.hpp>

namespace po = boost::program_options;

namespace pimint::cli {

int run_cluster(const std::vector<std::string>& args) {
    CommonOptions common;
    ClusterOptions options;
    std::string recipe;
    std::string base;
    std::string out;
    bool json = false;
    po::options_description desc("Options");
    desc.add_options() //
        ("recipe", po::value(&recipe)->required(),
         "the cluster recipe (TOML with a [cluster] table)") //
        ("base,b", po::value(&base)->required(),
         "the Raspberry Pi OS image to start from (only read)") //
        ("workers,w", po::value<int>()->notifier([&](int n) { options.workers = n; }),
         "number of workers (overrides [cluster].workers)") //
        ("output,o", po::value(&out)->required(),
         "output directory for master.img, worker001.img, ...") //
        ("set", po::value(&options.overrides)->composing(),
         "override a recipe value: --set table.key=value") //
        ("json", po::bool_switch(&json), "print the result as JSON");
    add_common_options(desc, common);
    po::positional_options_description positional;
    positional.add("recipe", 1);
    if (!parse_command_line(
            "cluster",
            "RECIPE --base IMAGE [--workers N] -o DIR [--set table.key=value ...]\n\n"
            "Writes DIR/master.img and DIR/worker001.img ... (names from the recipe's [cluster] "
            "table), each with its own host name, address, SSH host keys and machine-id; the "
            "master's key in every authorized_keys, the master's known_hosts and machinefile "
            "listing every node; plus DIR/manifest.json and DIR/SHA256SUMS.",
            desc, positional, args, common)) {
        return 0;
    }
    options.recipe = recipe;
    options.base = base;
    options.output_dir = out;
    StatusDisplay status(common.verbose, common.quiet);
    options.status = status.callback();
    const ClusterResult result = build_cluster(options);
    status.clear();
    if (json) {
        nlohmann::json nodes = nlohmann::json::array();
        for (const auto& n : result.nodes) {
            nodes.push_back({{"hostname", n.node.hostname},
                             {"address", n.node.address},
                             {"image", n.image.string()},
                             {"sha256", n.sha256}});
        }
        fmt::print("{}\n", nlohmann::json{{"nodes", nodes},
                                          {"backend", result.backend},
                                          {"launch_seconds", result.launch_seconds},
                                          {"total_seconds", result.total_seconds}}
                               .dump(2));
    } else if (!common.quiet) {
        for (const auto& n : result.nodes) {
            fmt::print("{:<12} {:<15} {}\n", n.node.hostname, n.node.address, n.image.string());
        }
        fmt::print("{} images in {:.1f} s ({:.1f} s starting one appliance, {})\n",
                   result.nodes.size(), result.total_seconds, result.launch_seconds,
                   result.backend);
    }
    return 0;
}

} // namespace pimint::cli
