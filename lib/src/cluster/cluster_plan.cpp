#include "core/ipv4.hpp"
#include "core/validate.hpp"
#include "pimint/cluster/cluster.hpp"
#include "pimint/core/error.hpp"
#include "recipe/steps/cluster_table.hpp"

#include <fmt/format.h>
#include <set>

namespace pimint {

namespace {

// A plan error at the value to change, worded like a recipe value error.
[[noreturn]] void plan_error(const ClusterSpec& spec, const std::string& key,
                             const std::string& message) {
    throw Error(ErrorCategory::recipe, spec.origin_of(key),
                fmt::format("cluster.{}: {}", key, message));
}

} // namespace

ClusterSpec load_cluster_spec(const std::filesystem::path& recipe_path,
                              const std::vector<std::string>& overrides,
                              std::optional<int> workers) {
    const Recipe recipe = Recipe::load(recipe_path, overrides);
    ClusterSpec spec;
    spec.source = recipe_path.string();
    for (const auto& step : recipe.steps()) {
        if (const auto* table = dynamic_cast<const steps::ClusterTable*>(step.get())) {
            spec = table->spec();
        }
    }
    if (workers) {
        if (*workers < 1 || *workers > 4096) {
            throw Error(ErrorCategory::usage, "--workers", "a cluster has 1 to 4096 workers");
        }
        spec.workers = *workers;
        spec.origin["workers"] = "--workers";
    }
    return spec;
}

ImageLayout parse_image_layout(const std::string& name) {
    if (name == "full") {
        return ImageLayout::full;
    }
    if (name == "overlay") {
        return ImageLayout::overlay;
    }
    throw Error(ErrorCategory::usage, "--layout",
                fmt::format("'{}' is no layout; give full (an image per node) or overlay (a "
                            "shared stage.img and an overlay per node)",
                            name));
}

std::vector<PlannedNode> plan_cluster(const ClusterSpec& spec) {
    const bool dhcp = spec.addressing == "dhcp";
    const ipv4::Subnet subnet = ipv4::parse_subnet(spec.subnet);
    const std::uint32_t first = ipv4::parse(spec.first_address);
    if (!dhcp && (first < subnet.first_host() || first > subnet.last_host())) {
        plan_error(spec, "first_address",
                   fmt::format("{} is not a host address of {}; pick one inside the subnet",
                               spec.first_address, spec.subnet));
    }
    const std::uint64_t available =
        first > subnet.last_host() ? 0 : std::uint64_t(subnet.last_host()) - first + 1;
    if (!dhcp && std::uint64_t(spec.workers) + 1 > available) {
        plan_error(
            spec, "workers",
            fmt::format(
                "{} workers and the master need {} addresses, but {} from {} holds only {}; use a "
                "larger subnet or an earlier first_address",
                spec.workers, spec.workers + 1, spec.subnet, spec.first_address, available));
    }
    const std::set<std::uint32_t> reserved = {spec.gateway.empty() ? 0 : ipv4::parse(spec.gateway)};
    std::vector<PlannedNode> nodes;
    std::uint32_t next = first;
    const auto take_address = [&]() -> std::string {
        if (dhcp) {
            return {};
        }
        while (reserved.count(next) != 0) {
            ++next;
        }
        if (next > subnet.last_host()) {
            plan_error(spec, "workers",
                       fmt::format("{} has no address left for every node; use a larger subnet",
                                   spec.subnet));
        }
        return ipv4::format(next++);
    };
    nodes.push_back({"master", 0, spec.master, take_address(), "master.img", ""});
    const Template pattern(spec.worker_name, SourceLocation{"cluster.worker_name", 0, 0});
    std::set<std::string> names{spec.master};
    for (int i = 1; i <= spec.workers; ++i) {
        NodeContext ctx;
        ctx.index = i;
        ctx.cluster = spec.name;
        PlannedNode node{"worker", i, pattern.expand(ctx), take_address(), "", ""};
        const std::string problem = validate::hostname(node.hostname);
        if (!problem.empty()) {
            plan_error(spec, "worker_name", problem);
        }
        if (!names.insert(node.hostname).second) {
            plan_error(
                spec, "worker_name",
                fmt::format("two nodes would be named {}; make the pattern include {{index}}",
                            node.hostname));
        }
        node.image_name = node.hostname + ".img";
        nodes.push_back(std::move(node));
    }
    for (auto& node : nodes) {
        node.reach_name = dhcp ? node.hostname + ".local" : node.hostname;
    }
    return nodes;
}

} // namespace pimint
