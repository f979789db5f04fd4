#include "pimint/publish/publish.hpp"

#include "cluster/cluster_manifest.hpp"
#include "core/output_lock.hpp"
#include "image/disk_image_reader.hpp"
#include "image/source_date.hpp"
#include "pimint/core/error.hpp"
#include "pimint/core/files.hpp"
#include "pimint/core/interrupt.hpp"
#include "pimint/image/partition_table.hpp"
#include "publish/bmap.hpp"
#include "publish/image_archive.hpp"
#include "publish/image_shrink.hpp"
#include "publish/imager_list.hpp"
#include "publish/secret_scan.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fmt/format.h>
#include <memory>
#include <unistd.h>

namespace pimint {
namespace {

struct Input {
    std::filesystem::path path;
    std::string name;
    bool cluster_node = false;
};

// The images of a directory: its *.img files, or an overlay cluster's node overlays
// (*.qcow2), not the stage they share.
std::vector<std::filesystem::path> images_in(const std::filesystem::path& dir) {
    bool overlays = false;
    try {
        overlays = recorded_layout(dir) == ImageLayout::overlay;
    } catch (const Error&) {
        overlays = false; // a manifest pimint cannot read: the directory's *.img files
    }
    std::vector<std::filesystem::path> images;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        const auto ext = e.path().extension();
        if (e.is_regular_file() && (overlays ? ext == ".qcow2" : ext == ".img")) {
            images.push_back(e.path());
        }
    }
    std::sort(images.begin(), images.end());
    return images;
}

std::vector<Input> resolve_inputs(const std::vector<std::filesystem::path>& given) {
    std::vector<Input> inputs;
    const auto add = [&](const std::filesystem::path& image, const std::string& name) {
        inputs.push_back(
            {image, name, std::filesystem::exists(image.parent_path() / "manifest.json")});
    };
    for (const auto& path : given) {
        std::error_code ec;
        if (std::filesystem::is_directory(path, ec)) {
            for (const auto& image : images_in(path)) {
                add(image, image.stem().string());
            }
            std::vector<std::filesystem::path> subdirs;
            for (const auto& e : std::filesystem::directory_iterator(path)) {
                if (e.is_directory() && !e.path().filename().string().starts_with(".")) {
                    subdirs.push_back(e.path());
                }
            }
            std::sort(subdirs.begin(), subdirs.end());
            for (const auto& sub : subdirs) {
                for (const auto& image : images_in(sub)) {
                    add(image, sub.filename().string() + "-" + image.stem().string());
                }
            }
        } else if (std::filesystem::is_regular_file(path, ec)) {
            add(path, path.stem().string());
        } else {
            throw Error(ErrorCategory::usage, path.string(),
                        "no such image or directory; give image files or cluster output "
                        "directories");
        }
    }
    if (inputs.empty()) {
        throw Error(ErrorCategory::usage, "publish",
                    "found no *.img (or overlay *.qcow2) files in the directories given");
    }
    for (size_t i = 0; i < inputs.size(); ++i) {
        for (size_t j = 0; j < i; ++j) {
            if (inputs[i].name == inputs[j].name) {
                throw Error(ErrorCategory::usage, inputs[i].path.string(),
                            fmt::format("publishes as \"{}\" like {}; publish them into "
                                        "separate directories",
                                        inputs[i].name, inputs[j].path.string()));
            }
        }
    }
    return inputs;
}

std::int64_t publish_date(const PublishOptions& options) {
    if (options.date) {
        return *options.date;
    }
    if (const auto epoch = source_date_epoch()) {
        return *epoch;
    }
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

} // namespace

PublishResult publish(const PublishOptions& options) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto say = [&](const std::string& m) {
        if (options.status) {
            options.status(m);
        }
    };
    if (options.level && *options.level > 9) {
        throw Error(ErrorCategory::usage, "--level",
                    fmt::format("{} is not a compression level; give 0 (fastest) to 9 "
                                "(smallest)",
                                *options.level));
    }
    const std::vector<Input> inputs = resolve_inputs(options.inputs);
    for (const auto& in : inputs) {
        const PartitionTable table = read_partition_table(in.path);
        require_pi_layout(table, in.path);
        if (options.shrink) {
            require_root_last(table, in.path);
        }
    }
    const std::int64_t date = publish_date(options);
    const auto& dir = options.output_dir;
    const OutputDirLock lock(dir);

    // Working copies, never committed: the inputs stay as they are.
    std::vector<std::unique_ptr<AtomicOutput>> copies;
    Appliance appliance(options.status);
    appliance.enable_discard();
    for (const auto& in : inputs) {
        check_interrupted();
        say(fmt::format("copying {}", in.path.string()));
        copies.push_back(std::make_unique<AtomicOutput>(dir / (in.name + ".img")));
        // An overlay is materialized: the download is the full image it stands for.
        if (is_qcow2(in.path)) {
            write_raw_image(*DiskImageReader::open(in.path), copies.back()->temp_path());
        } else {
            sparse_copy(in.path, copies.back()->temp_path());
        }
        appliance.add_image(copies.back()->temp_path(), Access::read_write,
                            copies.back()->final_path());
    }
    appliance.launch();
    std::vector<std::string> growth(inputs.size());
    std::vector<std::uint64_t> root_sectors(inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
        appliance.mount(static_cast<int>(i));
        const auto found = find_secrets(appliance.fs());
        if (!found.empty() && !options.allow_secrets) {
            throw Error(ErrorCategory::secret, inputs[i].path.string(),
                        fmt::format("{}{}; anyone who downloads it gets it: remove it from the "
                                    "recipe, or give --allow-secrets",
                                    found.front(),
                                    found.size() > 1
                                        ? fmt::format(" (and {} more)", found.size() - 1)
                                        : ""));
        }
        for (const auto& f : found) {
            say(fmt::format("{}: publishing although it holds {}", inputs[i].name, f));
        }
        if (options.shrink) {
            growth[i] =
                arrange_first_boot_growth(appliance.fs(), appliance.layout(), inputs[i].path);
            appliance.clamp_mtimes(date);
            say(fmt::format("{}: shrinking the root filesystem", inputs[i].name));
            root_sectors[i] =
                appliance.shrink_root(static_cast<int>(i), options.shrink_margin_bytes);
            appliance.mount(static_cast<int>(i));
        }
        say(fmt::format("{}: discarding free space", inputs[i].name));
        appliance.trim_free_space();
    }
    appliance.shutdown();
    for (size_t i = 0; i < inputs.size(); ++i) {
        if (options.shrink) {
            cut_after_root(copies[i]->temp_path(), appliance.partition_table(static_cast<int>(i)),
                           root_sectors[i], inputs[i].path);
        }
    }

    PublishResult result;
    std::string sums;
    for (size_t i = 0; i < inputs.size(); ++i) {
        check_interrupted();
        const Input& in = inputs[i];
        const auto& copy = copies[i]->temp_path();
        PublishedImage img;
        img.name = in.name;
        img.source = in.path;
        img.cluster_node = in.cluster_node;
        img.first_boot_growth = growth[i];
        say(fmt::format("{}: mapping blocks", in.name));
        const BlockMap map = make_block_map(copy);
        img.image_size = map.image_size;
        img.image_sha256 = map.image_sha256;
        img.mapped_bytes = map.mapped_bytes;
        img.bmap = dir / (in.name + ".img.bmap");
        write_file_atomically(img.bmap, map.xml);

        say(fmt::format("{}: compressing", in.name));
        img.archive = dir / (in.name + archive_suffix(options.format));
        AtomicOutput archive(img.archive);
        const auto c0 = std::chrono::steady_clock::now();
        write_image_archive(
            copy, archive.temp_path(),
            {options.format, in.name + ".img", date, options.threads, options.level});
        img.compress_seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - c0).count();
        img.archive_size = std::filesystem::file_size(archive.temp_path());
        img.archive_sha256 = sha256_file(archive.temp_path());
        archive.commit();
        std::filesystem::permissions(img.archive, std::filesystem::perms(0644));
        sums += fmt::format("{}  {}.img\n{}  {}\n", img.image_sha256, in.name, img.archive_sha256,
                            img.archive.filename().string());
        result.images.push_back(std::move(img));
        copies[i].reset();
    }
    result.sha256sums = dir / "SHA256SUMS";
    write_file_atomically(result.sha256sums, sums);
    result.os_list = dir / "os_list.json";
    write_file_atomically(result.os_list, imager_os_list(result.images, options, date));
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
}

} // namespace pimint
