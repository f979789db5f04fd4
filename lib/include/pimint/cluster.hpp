// Whole clusters from one base image: a master and N workers that know each other.
// The recipe's [cluster] table plans names and addresses; build_cluster() generates the
// SSH keys on the host, copies the base image once per node, edits every node through
// one appliance launch, and writes the images, manifest.json and SHA256SUMS.
#pragma once

#include "pimint/appliance.hpp"
#include "pimint/recipe.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace pimint {

// The [cluster] table of a recipe.
struct ClusterSpec {
    std::string name = "cluster";  // {cluster}
    std::string master = "master"; // the master's host name
    int workers = 2;
    std::string worker_name = "worker{index:03}";
    std::string subnet = "192.168.1.0/24"; // static plan: addresses from first_address on
    std::string first_address = "192.168.1.10";
    std::string gateway;          // optional
    std::vector<std::string> dns; // optional
    int slots = 4;                // per node, in the machinefile
    std::string key_type = "rsa"; // the master user's key: rsa (4096 bits) or ed25519
    std::string master_recipe;    // optional recipes for one role (paths relative to
    std::string worker_recipe;    // the cluster recipe); default: the cluster recipe
};

struct PlannedNode {
    std::string role; // "master" or "worker"
    int index = 0;    // 0 for the master, 1..N for workers
    std::string hostname;
    std::string address;
    std::string image_name; // master.img, worker001.img, ...
};

// Reads the [cluster] table of `recipe_path` (defaults when absent); `workers`
// overrides the count. Throws Error(recipe) with file:line:col for invalid values.
ClusterSpec load_cluster_spec(const std::filesystem::path& recipe_path,
                              const std::vector<std::string>& overrides,
                              std::optional<int> workers = std::nullopt);

// Names and addresses for every node; checks that names are unique and valid and that
// the subnet holds every address. Pure: no files, no image.
std::vector<PlannedNode> plan_cluster(const ClusterSpec& spec);

struct ClusterOptions {
    std::filesystem::path recipe;
    std::vector<std::string> overrides; // --set, applied to every node's recipe
    std::filesystem::path base;
    std::filesystem::path output_dir;
    std::optional<int> workers; // overrides [cluster].workers
    StatusCallback status;
};

struct NodeResult {
    PlannedNode node;
    std::filesystem::path image;
    std::uint64_t size = 0;
    std::string sha256;
    std::vector<std::string> host_key_fingerprints; // "ED25519 SHA256:..." lines
};

struct ClusterResult {
    std::vector<NodeResult> nodes;
    std::string backend;
    double launch_seconds = 0;
    double total_seconds = 0;
};

ClusterResult build_cluster(const ClusterOptions& options);

} // namespace pimint
