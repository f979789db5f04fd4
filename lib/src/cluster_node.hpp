// What makes one cloned image a distinct cluster node: its SSH host keys, the master's
// user key where it belongs, known_hosts and the machinefile on the master, and fresh
// machine-id and random seed.
#pragma once

#include "cluster_keys.hpp"
#include "pimint/cluster.hpp"
#include "pimint/image_fs.hpp"

#include <vector>

namespace pimint {

// Writes the identity of node `index` of `nodes` into the mounted image; `keys` holds
// the keys of every node (complete_cluster_keys).
void install_node_identity(ImageFs& fs, const ClusterSpec& spec,
                           const std::vector<PlannedNode>& nodes, size_t index,
                           const ClusterKeys& keys);

} // namespace pimint
