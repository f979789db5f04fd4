// `pimint materialize`: the full image a node of an overlay cluster stands for, as a
// sparse raw file, checked against the manifest's SHA-256 as it is written.
#include "command.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pimint/cards/burn.hpp>
#include <pimint/core/error.hpp>

namespace po = boost::program_options;

namespace pimint::cli {

int run_materialize(const std::vector<std::string>& args) {
    CommonOptions common;
    std::string from;
    std::string node;
    std::string out;
    bool json = false;
    po::options_description desc("Options");
    desc.add_options() //
        ("from", po::value(&from)->required(),
         "a directory pimint made, or an overlay (or image) file")               //
        ("node", po::value(&node), "the node: its host name (with a directory)") //
        ("output,o", po::value(&out)->required(), "the raw image file to write") //
        ("json", po::bool_switch(&json), "print the result as JSON");
    add_common_options(desc, common);
    po::positional_options_description positional;
    positional.add("from", 1).add("node", 1);
    if (!parse_command_line(
            "materialize",
            "DIR NODE -o NODE.img | OVERLAY -o IMAGE\n\n"
            "Writes the full raw image of a node (for an overlay cluster: its overlay read "
            "through DIR's stage), sparse: only the ranges that hold data take space. The "
            "image must hash to the SHA-256 DIR's manifest records; the file appears under its "
            "name only once written, synced and read back.",
            desc, positional, args, common)) {
        return 0;
    }
    const BurnSource source = burn_source(from, node);
    const CardTarget target = probe_target(out);
    if (target.block_device) {
        throw Error(ErrorCategory::usage, out,
                    "is a block device; pimint materialize writes files, pimint burn writes cards");
    }
    const BurnResult r = burn_card(source, target);
    if (json) {
        fmt::print("{}\n", nlohmann::json{{"node", source.hostname},
                                          {"source", source.image.string()},
                                          {"image", out},
                                          {"size", r.image_size},
                                          {"data_bytes", r.written},
                                          {"sha256", r.sha256},
                                          {"verified", !source.sha256.empty()}}
                               .dump(2));
    } else if (!common.quiet) {
        fmt::print("{}: {} ({} bytes, {} of data), SHA-256 {}{}\n", source.hostname, out,
                   r.image_size, r.written, r.sha256,
                   source.sha256.empty() ? "" : ", as the manifest records");
    }
    return 0;
}

} // namespace pimint::cli
