// The SSH keys of one cluster, kept in its output directory so that a resumed run or
// added workers trust the same master: DIR/.pimint/keys.json, in a 0700 directory and
// itself 0600. Keys are made on the host by ssh-keygen; none is ever printed or logged.
#pragma once

#include "pimint/cluster.hpp"
#include "ssh_keys.hpp"

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pimint {

struct NodeKeys {
    std::vector<SshKeyPair> host_keys; // ed25519, rsa, ecdsa
};

struct ClusterKeys {
    std::optional<SshKeyPair> user;        // the master user's key pair
    std::map<std::string, NodeKeys> hosts; // by host name
};

// The keys kept in `output_dir`, or none when the directory holds no cluster yet.
// Throws Error(io) naming the file when it exists but cannot be read.
ClusterKeys load_cluster_keys(const std::filesystem::path& output_dir);

// Keys the user supplies (--keys DIR) for a reproducible build: DIR/keys.json, or the
// store of an earlier output directory (DIR/.pimint/keys.json). Throws Error(usage) when
// there is none, or it lacks the master user's key of `key_type` or a node's host keys:
// nothing is generated, or two builds would differ.
ClusterKeys load_supplied_keys(const std::filesystem::path& keys_dir, const std::string& key_type,
                               const std::vector<PlannedNode>& nodes);

// The same key pairs for the same hosts.
bool same_keys(const ClusterKeys& a, const ClusterKeys& b);

// Generates what is missing for `nodes` (the user key in `key_type`, host keys per node)
// and returns whether anything was added.
bool complete_cluster_keys(ClusterKeys& keys, const std::string& key_type,
                           const std::vector<PlannedNode>& nodes);

// Writes the keys atomically; the file is 0600 from the moment it exists.
void save_cluster_keys(const std::filesystem::path& output_dir, const ClusterKeys& keys);

} // namespace pimint
