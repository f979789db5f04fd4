// The phases of build_cluster inside one appliance launch: fill the drives (copies of
// the stage or the base image, made on the host while the appliance starts), apply each
// node's steps, copy out and hash. A run makes its images in launches of at most
// ClusterOptions::drives_per_launch drives; the first also makes the stages.
#pragma once

#include "cluster/cluster_phases.hpp"

#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace pimint {

// Tracks the run's share done and sends ProgressEvents. Relative costs of the stages,
// measured on TCG: a launch is about three image copies' worth, applying a whole recipe
// about four, a node's own steps on top of a stage about one, hashing one.
class ProgressTracker {
public:
    static constexpr double copy_weight = 1;
    static constexpr double launch_weight = 3;
    static constexpr double apply_weight = 4;
    static constexpr double own_steps_weight = 1;
    static constexpr double hash_weight = 1;

    ProgressTracker(const ProgressCallback& sink, size_t total, size_t todo, double units);
    void stage(const std::string& image, const std::string& name, double finished_units = 0);

private:
    const ProgressCallback& sink_;
    size_t total_;
    size_t done_;
    double units_;
    double units_done_ = 0;
};

// What the launches of one run share; each launch reads the plans and adds its images to
// `rebuild.entries` and `result`.
struct ClusterRun {
    const ClusterOptions& options;
    const RunPlan& plan;
    KeyPlan& keys;
    RebuildPlan& rebuild;
    StagePlan& stages;
    ProgressTracker& progress;
    ClusterResult& result;
    // /etc/hosts of every node: the planned addresses (none with DHCP).
    std::vector<std::pair<std::string, std::string>> hosts;
    std::set<std::uint32_t> disk_ids; // taken, with unique_disk_ids
    Say say;

    // The weight of applying node `n`'s steps: its own only when it copies a stage.
    double apply_weight_of(const PlannedNode& n) const;
};

// The progress of a run from its plans: the total work, and the images kept.
double work_units(const ClusterOptions& options, const RunPlan& plan, const RebuildPlan& rebuild,
                  const StagePlan& stages, size_t batch_size);

// One launch for the nodes `batch` (indexes into the plan's nodes); `first` makes the
// stages too.
void run_launch(ClusterRun& run, std::span<const size_t> batch, bool first);

} // namespace pimint
