// build_cluster as its phases: plan, keys, what to rebuild, stages (cluster_phases.hpp),
// then per appliance launch fill, node steps, copy-out and hash (cluster_launch.hpp),
// and the manifest.
#include "pimint/cluster/cluster.hpp"

#include "cluster/cluster_launch.hpp"
#include "cluster/cluster_phases.hpp"
#include "core/output_lock.hpp"
#include "pimint/core/files.hpp"

#include <algorithm>
#include <chrono>
#include <fmt/format.h>
#include <future>
#include <span>

namespace pimint {

std::shared_ptr<StageCache> make_stage_cache() {
    return std::make_shared<StageCache>();
}

ClusterResult build_cluster(const ClusterOptions& options) {
    const auto t0 = std::chrono::steady_clock::now();
    const Say say = [&](const std::string& m) {
        if (options.status) {
            options.status(m);
        }
    };
    const RunPlan plan = plan_run(options);
    const OutputDirLock lock(options.output_dir);
    if (lock.stale_removed() > 0) {
        say(fmt::format("removed {} temporary files left by an interrupted run",
                        lock.stale_removed()));
    }
    // Hashed while the keys are made.
    auto base_sha256 = std::async(std::launch::async, [&] { return sha256_file(options.base); });
    KeyPlan keys = plan_keys(options, plan, say);
    RebuildPlan rebuild = plan_rebuilds(options, plan, keys, base_sha256.get(), say);
    // Before removing anything: a stage made again takes its overlays with it.
    StagePlan stages = plan_stages(options, plan, rebuild, say);
    remove_outdated(options.output_dir, plan, rebuild);
    link_stages(stages, rebuild);

    const size_t batch_size = std::clamp<size_t>(options.drives_per_launch, 1, 250);
    ProgressTracker progress(options.progress, plan.nodes.size(), rebuild.todo.size(),
                             work_units(options, plan, rebuild, stages, batch_size));
    for (size_t i = 0; i < plan.nodes.size(); ++i) {
        if (!rebuild.rebuilt[i]) {
            progress.stage(plan.nodes[i].image_name, "kept");
        }
    }
    ClusterResult result;
    ClusterRun run{options, plan, keys, rebuild, stages, progress, result, {}, {}, say};
    for (const auto& n : plan.nodes) {
        if (!n.address.empty()) {
            run.hosts.emplace_back(n.hostname, n.address);
        }
    }
    run.disk_ids.insert(plan.base_table.disk_id);
    const std::span<const size_t> todo(rebuild.todo);
    for (size_t first = 0; first < todo.size(); first += batch_size) {
        run_launch(run, todo.subspan(first, std::min(batch_size, todo.size() - first)), first == 0);
    }

    const auto unused_stages = plan.layout == ImageLayout::overlay
                                   ? prune_stages(options.output_dir, rebuild)
                                   : std::vector<std::filesystem::path>{};
    write_manifest(options.output_dir, plan, rebuild, true);
    for (const auto& file : unused_stages) {
        std::error_code ec;
        std::filesystem::remove(file, ec); // a leftover costs space only
    }
    for (size_t i = 0; i < plan.nodes.size(); ++i) {
        NodeResult r = rebuild.entries.at(plan.nodes[i].image_name).result;
        r.reused = !rebuild.rebuilt[i];
        result.nodes.push_back(std::move(r));
    }
    result.total_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
}

} // namespace pimint
