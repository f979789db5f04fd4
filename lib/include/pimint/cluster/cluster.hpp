// Whole clusters from one base image: a master and N workers that know each other.
// The recipe's [cluster] table plans names and addresses; build_cluster() generates the
// SSH keys on the host and, in one appliance launch, applies the steps all nodes share
// once to a stage image, then edits every node's own part on a copy of the stage (the
// copies made on the host while the appliance works), and writes the images,
// manifest.json and SHA256SUMS.
#pragma once

#include "pimint/image/appliance.hpp"
#include "pimint/recipe/cluster_spec.hpp"
#include "pimint/recipe/recipe.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pimint {

struct PlannedNode {
    std::string role; // "master" or "worker"
    int index = 0;    // 0 for the master, 1..N for workers
    std::string hostname;
    std::string address;    // empty with DHCP addressing
    std::string image_name; // master.img, worker001.img, ...
    // The name other nodes reach it by: the host name, or NAME.local with DHCP.
    std::string reach_name;
};

// Reads the [cluster] table of `recipe_path` (defaults when absent); `workers`
// overrides the count. Throws Error(recipe) with file:line:col for invalid values.
ClusterSpec load_cluster_spec(const std::filesystem::path& recipe_path,
                              const std::vector<std::string>& overrides,
                              std::optional<int> workers = std::nullopt);

// Names and addresses for every node; checks that names are unique and valid and that
// the subnet holds every address. Pure: no files, no image.
std::vector<PlannedNode> plan_cluster(const ClusterSpec& spec);

// Where a cluster build is, for progress displays: one event each time an image changes
// stage, with the share of the whole run's work done so far (an ETA is elapsed /
// fraction * (1 - fraction)).
struct ProgressEvent {
    std::string image; // "worker003.img"; empty for events about the run
    // "copying", "waiting", "starting the appliance", "applying", "hashing", "done", "kept"
    std::string stage;
    size_t images_done = 0; // finished or kept
    size_t images_total = 0;
    double fraction = 0; // 0..1
};
using ProgressCallback = std::function<void(const ProgressEvent&)>;

// Stages (the base image with the steps every node shares applied) kept for later
// build_cluster calls in the same process, which then skip making them again: the
// clusters of a classroom differ only in their [cluster] values and share their stages.
// The stage files stay, under temporary names, in the output directory of the run that
// made them until the cache is destroyed.
class StageCache;
std::shared_ptr<StageCache> make_stage_cache();

// How a cluster directory holds its nodes' disks.
enum class ImageLayout {
    full, // a raw image per node (NODE.img), each ready to burn
    // The stage (the base image with the steps every node shares) once, as stage.img, and
    // per node a qcow2 overlay (NODE.qcow2) holding only the clusters that differ from it:
    // a few megabytes instead of a whole image. pimint burn and pimint materialize write
    // the full image a node's overlay stands for; qemu boots an overlay as it is.
    overlay,
};

// "full" or "overlay" (--layout); throws Error(usage) naming --layout otherwise.
ImageLayout parse_image_layout(const std::string& name);

struct ClusterOptions {
    std::filesystem::path recipe;
    std::vector<std::string> overrides; // --set, applied to every node's recipe
    std::filesystem::path base;
    // Holds the images, manifest.json, SHA256SUMS and .pimint/keys.json (the cluster's
    // SSH keys, 0600). Running again on the same directory resumes: images whose
    // manifest entry matches their inputs are kept, the others (re)built with the same keys.
    std::filesystem::path output_dir;
    std::optional<int> workers; // overrides [cluster].workers (default: as recorded in DIR)
    // Take the SSH keys from here (DIR/keys.json, or an earlier output directory's
    // DIR/.pimint/keys.json) instead of generating them: with SOURCE_DATE_EPOCH set, two
    // builds from the same inputs then give the same files in every image. Keys are
    // never derived from a seed; every key the cluster needs must be there.
    std::filesystem::path keys_dir;
    // Adds this many workers to the cluster in output_dir (same keys, next numbers);
    // master.img is rebuilt with the new hosts, machinefile and known_hosts.
    int add_workers = 0;
    // Nodes as full images or as overlays on a shared stage; unset: as the output directory
    // holds them, or full in a new one. A directory keeps the layout it was made with.
    std::optional<ImageLayout> layout;
    // Reuse and keep stages here (see StageCache); null: the run's stages go with it.
    std::shared_ptr<StageCache> stage_cache;
    // Images edited per appliance launch; libguestfs takes at most 255 drives.
    size_t drives_per_launch = 250;
    StatusCallback status;     // free-form status lines (steps, MPICH build)
    ProgressCallback progress; // per-image stages and the run's share done
};

struct NodeResult {
    PlannedNode node;
    std::filesystem::path image; // the node's file: its image, or its overlay
    std::uint64_t size = 0;      // of the full image
    std::string sha256;          // of the full image the node stands for, in either layout
    std::vector<std::string> host_key_fingerprints; // "ED25519 SHA256:..." lines
    // The overlay layout: the SHA-256 of the overlay file `image` itself, and the file
    // name of the stage it is backed by in the same directory; empty with the full layout.
    std::string overlay_sha256;
    std::string backing;
    bool reused = false; // kept from an earlier run on the same output directory
};

struct ClusterResult {
    std::vector<NodeResult> nodes; // every node of the cluster, in plan order
    std::string backend;
    double launch_seconds = 0;
    double total_seconds = 0;
};

ClusterResult build_cluster(const ClusterOptions& options);

} // namespace pimint
