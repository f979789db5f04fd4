#include "pimint/recipe/apply.hpp"

#include "image/disk_image_reader.hpp"
#include "image/image_arch.hpp"
#include "image/source_date.hpp"
#include "pimint/core/error.hpp"
#include "pimint/core/interrupt.hpp"
#include "recipe/cloud_init.hpp"

#include <chrono>
#include <fmt/format.h>
#include <unistd.h>

namespace pimint {
namespace {

void check_output_path(const std::filesystem::path& base, const std::filesystem::path& out) {
    std::error_code ec;
    if (std::filesystem::equivalent(base, out, ec)) {
        throw Error(ErrorCategory::usage, out.string(),
                    "the output is the base image itself; pimint never modifies its input, name "
                    "another file");
    }
    const auto dir = out.parent_path().empty() ? std::filesystem::path(".") : out.parent_path();
    if (!std::filesystem::is_directory(dir, ec)) {
        throw Error(ErrorCategory::io, out.string(),
                    "the output directory does not exist; create it first");
    }
    if (::access(dir.c_str(), W_OK) != 0) {
        throw Error(ErrorCategory::io, out.string(), "the output directory is not writable");
    }
}

void grow_file(const std::filesystem::path& path, std::uint64_t extra) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (!ec) {
        std::filesystem::resize_file(path, size + extra, ec);
    }
    if (ec) {
        throw Error(ErrorCategory::io, path.string(),
                    "cannot enlarge the image file: " + ec.message());
    }
}

} // namespace

std::uint64_t grow_bytes(const Recipe& recipe) {
    std::uint64_t total = 0;
    for (const auto& step : recipe.steps()) {
        total += step->grow_bytes();
    }
    return total;
}

void apply_steps(Appliance& appliance, int index, const Recipe& recipe, NodeContext& node,
                 const StatusCallback& status) {
    appliance.mount(index);
    apply_steps_mounted(appliance, index, recipe, recipe.step_list(), node, status);
    clamp_to_source_date(appliance);
    appliance.unmount();
}

void apply_steps_mounted(Appliance& appliance, int index, const Recipe& recipe,
                         const std::vector<const Step*>& steps, NodeContext& node,
                         const StatusCallback& status) {
    for (const auto& step : recipe.steps()) {
        step->contribute(node);
    }
    const Layout& layout = appliance.layout();
    require_pi_architecture(layout, appliance.image_name(index).string());
    ImageFs& fs = appliance.fs();
    if (node.hostname.empty()) {
        const std::string current = fs.read_if_exists("/etc/hostname").value_or("");
        node.hostname = current.substr(0, current.find('\n'));
    }
    const std::uint64_t free_bytes = fs.space("/").free_bytes;
    std::uint64_t needed = 0;
    for (const Step* step : steps) {
        needed += step->space_needed();
        if (needed > free_bytes) {
            throw Error(
                ErrorCategory::image, appliance.image_name(index).string(),
                fmt::format(
                    "step [{}] needs {} KiB but the root filesystem has only {} KiB free; add "
                    "[image] grow = \"+1G\" to the recipe",
                    step->name(), (needed + 1023) / 1024, free_bytes / 1024));
        }
    }
    StepContext ctx{
        fs, layout, node, recipe.path().parent_path().string(), status, source_date_epoch()};
    for (const Step* step : steps) {
        check_interrupted();
        if (status) {
            status(fmt::format("applying [{}]", step->name()));
        }
        step->apply(ctx);
    }
    agree_with_cloud_init(fs, layout, node);
}

ApplyReport apply(const Recipe& recipe, const std::filesystem::path& base,
                  const std::filesystem::path& out, const ApplyOptions& options) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto say = [&](std::string_view m) {
        if (options.status) {
            options.status(m);
        }
    };
    check_output_path(base, out);
    require_raw_image(base);
    require_pi_layout(read_partition_table(base), base);
    source_date_epoch(); // a malformed value fails here, before anything is written

    ApplyReport report;
    AtomicOutput output(out);
    say("copying the base image");
    report.copy = sparse_copy(base, output.temp_path());
    check_interrupted();
    report.grown_bytes = grow_bytes(recipe);
    if (report.grown_bytes > 0) {
        grow_file(output.temp_path(), report.grown_bytes);
        // Before the launch: the appliance then need not read the partitions again.
        extend_root_partition(output.temp_path(), out);
    }

    Appliance appliance(options.status);
    const int index = appliance.add_image(output.temp_path(), Access::read_write, out);
    appliance.launch();
    if (report.grown_bytes > 0) {
        appliance.grow_root(index);
    }
    NodeContext node = options.node;
    say("applying the recipe");
    apply_steps(appliance, index, recipe, node, options.status);
    appliance.shutdown();
    check_interrupted();
    output.commit();

    report.backend = appliance.backend();
    report.launch_seconds = appliance.launch_seconds();
    for (const auto& step : recipe.steps()) {
        report.steps.emplace_back(step->name());
    }
    report.total_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return report;
}

std::string describe_plan(const Recipe& recipe, const NodeContext& node,
                          const std::string& boot_mount) {
    NodeContext planned = node;
    for (const auto& step : recipe.steps()) {
        step->contribute(planned);
    }
    std::string out;
    int n = 1;
    for (const auto& step : recipe.steps()) {
        out += fmt::format("{}. [{}]\n", n++, step->name());
        for (const auto& path : step->touches(planned, boot_mount)) {
            out += "     " + path + "\n";
        }
    }
    return out;
}

} // namespace pimint
