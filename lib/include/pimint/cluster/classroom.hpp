// A classroom: K clusters from one base image, each with its own keys (none shared
// across clusters), host name prefix and subnet, in DIR/<name>/ as `pimint cluster`
// makes them, plus DIR/manifest.json and DIR/labels.csv (one line per card). Runs resume
// like clusters do, and --shard i/n splits the clusters between independent processes
// (a Slurm job array, a Kubernetes Indexed Job) deterministically.
//
// The class file:
//   [classroom]
//   recipe = "mpi-cluster.toml"       # the cluster recipe, relative to this file
//   base = "raspbian.img"             # optional; ClassroomOptions::base wins
//   clusters = 8
//   workers = 4                       # per cluster; default: the recipe's
//   name = "cluster{number:02}"       # each cluster's name and directory
//   hostname_prefix = "c{number:02}-" # put before the recipe's node names
//   subnet = "192.168.{number}.0/24"  # each cluster's subnet
//   first_host = 10                   # first address: the subnet's network + first_host
//   gateway_host = 1                  # optional: the gateway, the same way
//   set = ["wifi.country=\"FR\""]     # --set values for every cluster
#pragma once

#include "pimint/cluster/cluster.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace pimint {

// One cluster of the class, fully worked out.
struct PlannedCluster {
    int number = 0;   // 1..K
    std::string name; // and directory under the output
    std::string hostname_prefix;
    std::string subnet;
    std::string first_address;
    std::string gateway; // empty when none
};

struct ClassroomSpec {
    std::filesystem::path file;
    std::filesystem::path recipe;
    std::optional<std::filesystem::path> base;
    int clusters = 1;
    std::optional<int> workers;
    std::string name = "cluster{number:02}";
    std::string hostname_prefix = "c{number:02}-";
    std::string subnet = "192.168.{number}.0/24";
    int first_host = 10;
    std::optional<int> gateway_host;
    std::vector<std::string> overrides;
    std::vector<PlannedCluster> clusters_planned; // every cluster, numbered from 1
};

// Reads and checks a class file and plans every cluster (names unique, subnets valid).
// Throws Error(recipe) with file:line:col and a fix. Pure: no image is read.
ClassroomSpec load_classroom(const std::filesystem::path& file);

// "i/n" with 1 <= i <= n; throws Error(usage) otherwise.
struct Shard {
    int index = 1;
    int count = 1;
    static Shard parse(const std::string& text);
    bool includes(int cluster_number) const { return (cluster_number - 1) % count == index - 1; }
};

struct ClassroomOptions {
    std::filesystem::path class_file;
    std::optional<std::filesystem::path> base; // overrides the class file's base
    std::filesystem::path output_dir;
    std::vector<std::string> overrides; // added after the class file's `set`
    Shard shard;
    std::optional<ImageLayout> layout; // of every cluster (ClusterOptions::layout)
    StatusCallback status;
    ProgressCallback progress; // per cluster, as build_cluster sends it
};

struct ClassroomCluster {
    PlannedCluster plan;
    std::filesystem::path dir;
    ClusterResult result;
};

struct ClassroomResult {
    std::vector<ClassroomCluster> clusters; // the ones this shard made or kept
    bool summary_written = false;           // DIR/manifest.json and labels.csv (whole class only)
};

// Builds the clusters of `options.shard`. The summary files are written when the run
// covers the whole class (shard 1/1); after a sharded run, run once more without a shard
// (every image is then kept) to write them.
ClassroomResult build_classroom(const ClassroomOptions& options);

} // namespace pimint
