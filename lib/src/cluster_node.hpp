// What makes one cloned image a distinct cluster node: its SSH host keys, the master's
// user key where it belongs, known_hosts and the machinefile on the master, and fresh
// machine-id and random seed.
#pragma once

#include "pimint/cluster.hpp"
#include "pimint/image_fs.hpp"
#include "ssh_keys.hpp"

#include <vector>

namespace pimint {

struct NodeKeys {
    std::vector<SshKeyPair> host_keys; // ed25519, rsa, ecdsa
};

struct ClusterKeys {
    SshKeyPair user;             // the master user's key pair
    std::vector<NodeKeys> nodes; // in plan order
};

ClusterKeys generate_cluster_keys(const ClusterSpec& spec, const std::vector<PlannedNode>& nodes);

// Writes the identity of node `index` of `nodes` into the mounted image.
void install_node_identity(ImageFs& fs, const ClusterSpec& spec,
                           const std::vector<PlannedNode>& nodes, size_t index,
                           const ClusterKeys& keys);

} // namespace pimint
