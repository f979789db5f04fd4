// The SSH keys of one cluster, kept in its output directory so that a resumed run or
// added workers trust the same master: DIR/.pimint/keys.json, in a 0700 directory and
// itself 0600. Keys are made on the host by ssh-keygen; none is ever printed or logged.
#pragma once

#include "cluster/ssh_keys.hpp"
#include "core/work_queue.hpp"
#include "pimint/cluster/cluster.hpp"

#include <filesystem>
#include <future>
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

// Makes the keys a cluster lacks for `nodes` (the master user's key of `key_type`, three
// host keys per node) on background threads, while the caller does other work: ssh-keygen
// takes a second for a 3072-bit RSA key, and the appliance launch leaves a core free.
class KeyMaker {
public:
    // Starts on `threads` threads. Throws Error(build) at once when keys are lacking
    // and ssh-keygen is not installed.
    KeyMaker(const ClusterKeys& keys, const std::string& key_type,
             const std::vector<PlannedNode>& nodes, size_t threads);
    KeyMaker(const KeyMaker&) = delete;
    KeyMaker& operator=(const KeyMaker&) = delete;

    bool makes_anything() const { return !made_.empty() || makes_user_; }
    bool makes_user_key() const { return makes_user_; }
    bool makes_host_keys(const std::string& hostname) const { return made_.contains(hostname); }

    // Makes what is left on the calling thread too and returns the completed keys;
    // throws the first error. Once only.
    ClusterKeys finish();

private:
    ClusterKeys keys_;
    bool makes_user_;
    std::future<SshKeyPair> user_;
    std::map<std::string, std::future<NodeKeys>> made_;
    WorkQueue queue_; // last: it stops before what its tasks use
};

// Writes the keys atomically; the file is 0600 from the moment it exists.
void save_cluster_keys(const std::filesystem::path& output_dir, const ClusterKeys& keys);

} // namespace pimint
