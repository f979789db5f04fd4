// `pimint publish`: archives for download, with block maps, SHA256SUMS and an Imager list.
#include "command.hpp"
#include "status_display.hpp"

#include <boost/optional.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pimint/publish/publish.hpp>

namespace po = boost::program_options;

namespace pimint::cli {

int run_publish(const std::vector<std::string>& args) {
    CommonOptions common;
    PublishOptions options;
    std::vector<std::string> inputs;
    std::string out;
    std::string format = "xz";
    bool json = false;
    std::uint64_t margin_mib = options.shrink_margin_bytes >> 20;
    boost::optional<unsigned> level;
    po::options_description desc("Options");
    desc.add_options()                                                                  //
        ("input", po::value(&inputs)->composing(), "image files or output directories") //
        ("output,o", po::value(&out)->required(), "directory for the published files")  //
        ("format", po::value(&format), "xz (default, multi-threaded), zip or gz")       //
        ("shrink", po::bool_switch(&options.shrink),
         "shrink each root filesystem to its data plus a margin; it grows to the whole card "
         "at first boot") //
        ("shrink-margin", po::value(&margin_mib),
         "free space (MiB) a shrunk root keeps for its first boot (default 256)") //
        ("allow-secrets", po::bool_switch(&options.allow_secrets),
         "publish images that hold a private user key or a default password") //
        ("url-base", po::value(&options.url_base),
         "prefix of the archives' URLs in os_list.json, e.g. https://example.org/lab/") //
        ("description", po::value(&options.description), "description in os_list.json") //
        ("icon", po::value(&options.icon), "icon URL in os_list.json")                  //
        ("threads", po::value(&options.threads), "xz threads (default: one per core)")  //
        ("level", po::value(&level),
         "compression level, 0 (fastest) to 9 (smallest); default 6") //
        ("json", po::bool_switch(&json), "print the result as JSON");
    add_common_options(desc, common);
    po::positional_options_description positional;
    positional.add("input", -1);
    if (!parse_command_line(
            "publish",
            "IMAGE|DIR ... -o OUT [--format xz|zip|gz] [--shrink] [--url-base URL]\n\n"
            "Copies each image, refuses it if it holds a private user key or a default "
            "password (unless --allow-secrets), with --shrink cuts it to its data plus a "
            "margin (it grows back to the whole card at first boot), discards its free "
            "space and compresses it: "
            "OUT/NAME.img.xz (or .zip, .img.gz), OUT/NAME.img.bmap for bmaptool, "
            "OUT/SHA256SUMS for the images and archives, and OUT/os_list.json to use as a "
            "custom repository in Raspberry Pi Imager. A directory stands for its *.img files "
            "(and those of its subdirectories, for a classroom). The inputs are only read. "
            "Archives are dated $SOURCE_DATE_EPOCH when it is set.",
            desc, positional, args, common)) {
        return 0;
    }
    for (const auto& i : inputs) {
        options.inputs.emplace_back(i);
    }
    options.output_dir = out;
    options.format = parse_archive_format(format);
    options.shrink_margin_bytes = margin_mib << 20;
    if (level) {
        options.level = *level;
    }
    StatusDisplay status(common.verbose, common.quiet);
    options.status = status.callback();
    const PublishResult result = publish(options);
    status.clear();
    if (json) {
        nlohmann::json images = nlohmann::json::array();
        for (const auto& i : result.images) {
            images.push_back({{"name", i.name},
                              {"source", i.source.string()},
                              {"archive", i.archive.string()},
                              {"bmap", i.bmap.string()},
                              {"image_size", i.image_size},
                              {"image_sha256", i.image_sha256},
                              {"mapped_bytes", i.mapped_bytes},
                              {"archive_size", i.archive_size},
                              {"archive_sha256", i.archive_sha256},
                              {"compress_seconds", i.compress_seconds},
                              {"cluster_node", i.cluster_node},
                              {"first_boot_growth", i.first_boot_growth}});
        }
        fmt::print("{}\n", nlohmann::json{{"images", images},
                                          {"os_list", result.os_list.string()},
                                          {"sha256sums", result.sha256sums.string()},
                                          {"seconds", result.seconds}}
                               .dump(2));
    } else if (!common.quiet) {
        for (const auto& i : result.images) {
            fmt::print("{:<24} {:>6.1f} MiB of data → {} ({:.1f} MiB)\n", i.name,
                       static_cast<double>(i.mapped_bytes) / (1 << 20), i.archive.string(),
                       static_cast<double>(i.archive_size) / (1 << 20));
        }
        fmt::print("{}\n{}\n", result.sha256sums.string(), result.os_list.string());
    }
    return 0;
}

} // namespace pimint::cli
