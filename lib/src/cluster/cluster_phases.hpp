// The phases of build_cluster before any appliance starts, in the order it runs them:
// plan, keys, what to rebuild, stages. Each takes what it reads and returns what it
// makes; the launches (cluster_launch.hpp) then fill drives, apply node steps, copy out
// and hash, and the run ends with the manifest.
#pragma once

#include "cluster/cluster_keys.hpp"
#include "cluster/cluster_manifest.hpp"
#include "cluster/cluster_stage.hpp"
#include "pimint/cluster/cluster.hpp"
#include "pimint/image/partition_table.hpp"

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace pimint {

using Say = std::function<void(const std::string&)>;

// Plan: the nodes to make, from the recipe, the options and what the output directory
// already holds. Checks everything that can be checked before writing anything.
struct RunPlan {
    ClusterSpec spec;
    std::vector<PlannedNode> nodes;
    PartitionTable base_table;
    std::string base_first_sector;
    std::optional<ClusterKeys> supplied_keys; // --keys
    ImageLayout layout = ImageLayout::full;
};
RunPlan plan_run(const ClusterOptions& options);

// The recipe file of a role: the cluster recipe, or the role's own.
std::filesystem::path role_recipe_path(const ClusterOptions& options, const ClusterSpec& spec,
                                       const std::string& role);

// Keys: those the directory holds or the user supplied; what is missing is made by
// `maker` while the appliance starts.
struct KeyPlan {
    ClusterKeys keys;
    std::unique_ptr<KeyMaker> maker;
    // Whether node `i`'s image is made from keys still being made, which no image made
    // before can match.
    bool has_new_keys(const std::vector<PlannedNode>& nodes, size_t i) const;
};
KeyPlan plan_keys(const ClusterOptions& options, const RunPlan& plan, const Say& say);

// What to rebuild: a node whose image is missing, changed or made from other inputs.
struct RebuildPlan {
    ManifestHeader header;
    std::map<std::string, ManifestEntry> entries; // by image name: the finished images
    std::map<std::string, std::string> role_fingerprints;
    std::vector<std::string> inputs; // per node; empty until its new keys are made
    std::vector<size_t> todo;        // nodes to make, in order
    std::vector<bool> rebuilt;       // per node
};
RebuildPlan plan_rebuilds(const ClusterOptions& options, const RunPlan& plan, const KeyPlan& keys,
                          std::string base_sha256, const Say& say);
// The hash of everything node `i`'s image is made from, once its keys are known.
std::string node_inputs(const RunPlan& plan, const RebuildPlan& rebuild, const ClusterKeys& keys,
                        size_t i);
// Takes the images about to be rebuilt out of the manifest, then off the disk: whenever
// a run stops, every image under its final name is complete and listed.
void remove_outdated(const std::filesystem::path& dir, const RunPlan& plan, RebuildPlan& rebuild);
// manifest.json and SHA256SUMS over the finished images, in node order.
void write_manifest(const std::filesystem::path& dir, const RunPlan& plan,
                    const RebuildPlan& rebuild, bool complete);

// Stages: one for each role recipe with two or more images to make (with the overlay
// layout, one or more), taken from the options' StageCache when an earlier run made it
// from the same inputs. With the overlay layout a stage is a file of the directory: kept
// when its record still matches, otherwise made again, and every overlay on it with it.
struct StagePlan {
    std::set<std::filesystem::path> staged; // role recipes whose nodes copy a stage
    std::map<std::filesystem::path, std::shared_ptr<const Stage>> stages; // kept or made
    std::map<std::filesystem::path, Recipe> to_make;                      // in the first launch
    std::map<std::filesystem::path, std::string> keys; // stage_key of each staged recipe
    // The overlay layout: each staged recipe's stage file, under its final name, and the
    // stages another cluster of the StageCache made, to link there (link_stages).
    std::map<std::filesystem::path, std::filesystem::path> files;
    std::map<std::filesystem::path, std::shared_ptr<const Stage>> to_link;
};
StagePlan plan_stages(const ClusterOptions& options, const RunPlan& plan, RebuildPlan& rebuild,
                      const Say& say);
// The overlay layout, after remove_outdated: links each stage of `to_link` as this
// directory's stage file (a hard link where it can) and records it.
void link_stages(StagePlan& stages, RebuildPlan& rebuild);
// The overlay layout, once every node is made: forgets the stage files no overlay reads
// any more (a recipe whose roles no longer share a stage) and returns them, to remove
// once the manifest no longer lists them.
std::vector<std::filesystem::path> prune_stages(const std::filesystem::path& dir,
                                                RebuildPlan& rebuild);
// Records the overlay layout's stage file made or linked for `key` in the manifest's header.
void record_stage(ManifestHeader& header, const std::string& key, const Stage& stage);

} // namespace pimint
