// What makes one cloned image a distinct cluster node: its SSH host keys, the master's
// user key where it belongs, known_hosts and the machinefile on the master, and fresh
// machine-id and random seed.
#pragma once

#include "cluster/cluster_keys.hpp"
#include "pimint/cluster/cluster.hpp"
#include "pimint/image/image_fs.hpp"

#include <filesystem>
#include <vector>

namespace pimint {

// Writes the identity of node `index` of `nodes` into the mounted image; `keys` holds
// the keys of every node (complete_cluster_keys). `scratch_dir` is a private host
// directory for the archive of the node's files, which holds private keys.
void install_node_identity(ImageFs& fs, const ClusterSpec& spec,
                           const std::vector<PlannedNode>& nodes, size_t index,
                           const ClusterKeys& keys, const std::filesystem::path& scratch_dir);

} // namespace pimint
