#include "cluster/cluster_keys.hpp"

#include "core/output_lock.hpp"
#include "pimint/core/error.hpp"
#include "pimint/core/files.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>
#include <sys/stat.h>

namespace pimint {
namespace {

constexpr const char* host_key_types[] = {"ed25519", "rsa", "ecdsa"};

std::filesystem::path keys_file(const std::filesystem::path& output_dir) {
    return output_dir / ".pimint" / "keys.json";
}

nlohmann::json to_json(const SshKeyPair& k) {
    return {{"type", k.type},
            {"private_key", k.private_key},
            {"public_key", k.public_key},
            {"fingerprint", k.fingerprint}};
}

SshKeyPair key_from_json(const nlohmann::json& j) {
    return {j.at("type").get<std::string>(), j.at("private_key").get<std::string>(),
            j.at("public_key").get<std::string>(), j.at("fingerprint").get<std::string>()};
}

ClusterKeys load_keys_file(const std::filesystem::path& file) {
    ClusterKeys keys;
    if (!std::filesystem::exists(file)) {
        return keys;
    }
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    try {
        const auto j = nlohmann::json::parse(text.str());
        if (j.contains("user")) {
            keys.user = key_from_json(j.at("user"));
        }
        for (const auto& [host, list] : j.at("hosts").items()) {
            NodeKeys nk;
            for (const auto& k : list) {
                nk.host_keys.push_back(key_from_json(k));
            }
            keys.hosts[host] = std::move(nk);
        }
    } catch (const nlohmann::json::exception&) {
        // The message would quote the file, which holds private keys.
        throw Error(ErrorCategory::io, file.string(),
                    "the cluster's key store is damaged; restore it, or remove the output "
                    "directory to make a new cluster with new keys");
    }
    return keys;
}

nlohmann::json keys_to_json(const ClusterKeys& keys) {
    nlohmann::json j = {{"hosts", nlohmann::json::object()}};
    if (keys.user) {
        j["user"] = to_json(*keys.user);
    }
    for (const auto& [host, nk] : keys.hosts) {
        auto& list = j["hosts"][host] = nlohmann::json::array();
        for (const auto& k : nk.host_keys) {
            list.push_back(to_json(k));
        }
    }
    return j;
}

} // namespace

ClusterKeys load_cluster_keys(const std::filesystem::path& output_dir) {
    return load_keys_file(keys_file(output_dir));
}

ClusterKeys load_supplied_keys(const std::filesystem::path& keys_dir, const std::string& key_type,
                               const std::vector<PlannedNode>& nodes) {
    std::filesystem::path file = keys_dir / "keys.json";
    if (!std::filesystem::exists(file)) {
        file = keys_file(keys_dir);
    }
    if (!std::filesystem::exists(file)) {
        throw Error(ErrorCategory::usage, keys_dir.string(),
                    "--keys: holds no keys.json (nor .pimint/keys.json); give an earlier "
                    "cluster output directory");
    }
    ClusterKeys keys = load_keys_file(file);
    if (!keys.user || keys.user->type != key_type) {
        throw Error(ErrorCategory::usage, file.string(),
                    fmt::format("--keys: holds no {} key for the master user; give keys made "
                                "with key_type = \"{}\"",
                                key_type, key_type));
    }
    for (const auto& node : nodes) {
        if (keys.hosts.count(node.hostname) == 0) {
            throw Error(ErrorCategory::usage, file.string(),
                        fmt::format("--keys: holds no host keys for {}; give keys made for "
                                    "the same cluster (as many workers), or leave out --keys",
                                    node.hostname));
        }
    }
    return keys;
}

bool same_keys(const ClusterKeys& a, const ClusterKeys& b) {
    return keys_to_json(a) == keys_to_json(b);
}

KeyMaker::KeyMaker(const ClusterKeys& keys, const std::string& key_type,
                   const std::vector<PlannedNode>& nodes, size_t threads)
    : keys_(keys)
    , makes_user_(!keys.user)
    , queue_(threads) {
    const bool any = makes_user_ || std::any_of(nodes.begin(), nodes.end(), [&](const auto& n) {
                         return !keys_.hosts.contains(n.hostname);
                     });
    if (any) {
        require_ssh_keygen();
    }
    // Each task is the user's key or one node's three host keys. The user's RSA-4096 key
    // goes first: it takes several host keys' time.
    if (makes_user_) {
        user_ = queue_.add([key_type, comment = "pi@" + nodes.front().hostname] {
            return generate_ssh_key(key_type, comment);
        });
    }
    for (const auto& node : nodes) {
        if (keys_.hosts.contains(node.hostname) || made_.contains(node.hostname)) {
            continue;
        }
        made_[node.hostname] = queue_.add([comment = "root@" + node.hostname] {
            NodeKeys made;
            for (const char* type : host_key_types) {
                made.host_keys.push_back(generate_ssh_key(type, comment, 3072));
            }
            return made;
        });
    }
}

ClusterKeys KeyMaker::finish() {
    queue_.help();
    if (makes_user_) {
        keys_.user = user_.get();
    }
    for (auto& [hostname, made] : made_) {
        keys_.hosts[hostname] = made.get();
    }
    return std::move(keys_);
}

void save_cluster_keys(const std::filesystem::path& output_dir, const ClusterKeys& keys) {
    state_dir(output_dir);
    write_file_atomically(keys_file(output_dir), keys_to_json(keys).dump(1) + "\n", 0600);
}

} // namespace pimint
