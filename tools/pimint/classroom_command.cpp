// `pimint classroom`: K clusters for a class, each in its own directory.
#include "command.hpp"
#include "status_display.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pimint/cluster/classroom.hpp>

namespace po = boost::program_options;

namespace pimint::cli {

int run_classroom(const std::vector<std::string>& args) {
    CommonOptions common;
    ClassroomOptions options;
    std::string class_file;
    std::string out;
    std::string shard = "1/1";
    bool json = false;
    po::options_description desc("Options");
    desc.add_options()                                                                            //
        ("class", po::value(&class_file)->required(), "the class file (TOML, [classroom] table)") //
        ("base,b",
         po::value<std::string>()->notifier([&](const std::string& b) { options.base = b; }),
         "the Raspberry Pi OS image to start from (default: the class file's base)") //
        ("output,o", po::value(&out)->required(),
         "output directory; cluster N goes to DIR/<name>") //
        ("shard", po::value(&shard),
         "make only clusters k with (k-1) mod n = i-1, for job arrays: --shard i/n") //
        ("layout", po::value<std::string>()->notifier([&](const std::string& l) {
            options.layout = parse_image_layout(l);
        }),
         "full (an image per node, the default) or overlay (DIR/stage.img once and a small "
         "qcow2 overlay per node; pimint burn and materialize write the full images)") //
        ("set", po::value(&options.overrides)->composing(),
         "override a recipe value for every cluster: --set table.key=value") //
        ("json", po::bool_switch(&json), "print the result as JSON");
    add_common_options(desc, common);
    po::positional_options_description positional;
    positional.add("class", 1);
    if (!parse_command_line(
            "classroom",
            "CLASS.toml [--base IMAGE] -o DIR [--shard i/n] [--set table.key=value ...]\n\n"
            "Makes every cluster of the class in DIR/<name>/ as `pimint cluster` does, each with "
            "keys of its own, its host name prefix and its subnet; then DIR/manifest.json and "
            "DIR/labels.csv (cluster, node, hostname, address, image: one line per card). Runs "
            "resume: finished images are kept. With --shard, only that share of the clusters is "
            "made and the summary is left to a final run without --shard.",
            desc, positional, args, common)) {
        return 0;
    }
    options.class_file = class_file;
    options.output_dir = out;
    options.shard = Shard::parse(shard);
    StatusDisplay status(common.verbose, common.quiet);
    options.status = status.callback();
    options.progress = status.progress_callback();
    const ClassroomResult result = build_classroom(options);
    status.clear();
    if (json) {
        nlohmann::json clusters = nlohmann::json::array();
        for (const auto& c : result.clusters) {
            nlohmann::json nodes = nlohmann::json::array();
            for (const auto& n : c.result.nodes) {
                nodes.push_back({{"hostname", n.node.hostname},
                                 {"address", n.node.address},
                                 {"image", n.image.string()},
                                 {"reused", n.reused}});
            }
            clusters.push_back({{"name", c.plan.name}, {"dir", c.dir.string()}, {"nodes", nodes}});
        }
        fmt::print("{}\n", nlohmann::json{{"clusters", clusters},
                                          {"summary_written", result.summary_written}}
                               .dump(2));
    } else if (!common.quiet) {
        for (const auto& c : result.clusters) {
            size_t kept = 0;
            for (const auto& n : c.result.nodes) {
                kept += n.reused ? 1 : 0;
            }
            fmt::print("{:<12} {} images in {} ({} kept)\n", c.plan.name, c.result.nodes.size(),
                       c.dir.string(), kept);
        }
        if (result.summary_written) {
            fmt::print("labels for the cards: {}/labels.csv\n", out);
        }
    }
    return 0;
}

} // namespace pimint::cli
