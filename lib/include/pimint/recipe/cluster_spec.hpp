// What a recipe's [cluster] table says: names, addressing and keys of a cluster. The
// recipe part reads it like a step; the cluster part plans and builds from it.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace pimint {

// The [cluster] table of a recipe.
struct ClusterSpec {
    std::string name = "cluster";  // {cluster}
    std::string master = "master"; // the master's host name
    int workers = 2;
    std::string worker_name = "worker{index:03}";
    // "static": addresses planned from first_address in subnet, written into every image
    // and /etc/hosts. "dhcp": the LAN's DHCP server assigns them and nodes find each other
    // by mDNS as NAME.local, which needs avahi-daemon and nss-mdns in the image.
    std::string addressing = "static";
    std::string subnet = "192.168.1.0/24"; // static plan: addresses from first_address on
    std::string first_address = "192.168.1.10";
    std::string gateway;          // optional
    std::vector<std::string> dns; // optional
    int slots = 4;                // per node, in the machinefile
    std::string key_type = "rsa"; // the master user's key: rsa (4096 bits) or ed25519
    std::string master_recipe;    // optional recipes for one role (paths relative to
    std::string worker_recipe;    // the cluster recipe); default: the cluster recipe
    // New MBR disk signature, FAT serial and ext4 UUID per node (references rewritten),
    // so that two cards can sit in one reader.
    bool unique_disk_ids = false;

    // Where values were set, so plan errors name the place to fix: "file:line:col" for
    // each key written in the recipe, "--workers" for the option. origin_of() falls back
    // on `source` (the recipe file) for values left at their defaults.
    std::map<std::string, std::string> origin;
    std::string source;
    std::string origin_of(const std::string& key) const;
};

} // namespace pimint
