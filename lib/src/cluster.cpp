#include "pimint/cluster.hpp"

#include "cluster_node.hpp"
#include "ipv4.hpp"
#include "pimint/apply.hpp"
#include "pimint/error.hpp"
#include "pimint/files.hpp"
#include "pimint/interrupt.hpp"
#include "pimint/version.hpp"

#include <chrono>
#include <fmt/format.h>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

namespace pimint {
namespace {

// The recipe for one node: its role's recipe with the user's --set values, then the
// node's planned name and address (which win).
Recipe node_recipe(const ClusterOptions& options, const ClusterSpec& spec,
                   const PlannedNode& node) {
    const std::string& role_recipe =
        node.role == "master" ? spec.master_recipe : spec.worker_recipe;
    const std::filesystem::path path =
        role_recipe.empty() ? options.recipe : options.recipe.parent_path() / role_recipe;
    std::vector<std::string> sets = options.overrides;
    // Quoted, so that a name like "1" or "true" stays a string.
    sets.push_back(fmt::format("hostname.name=\"{}\"", node.hostname));
    sets.push_back(fmt::format("network.address=\"{}/{}\"", node.address,
                               ipv4::parse_subnet(spec.subnet).prefix));
    if (!spec.gateway.empty()) {
        sets.push_back(fmt::format("network.gateway=\"{}\"", spec.gateway));
    }
    if (!spec.dns.empty()) {
        std::string list;
        for (const auto& d : spec.dns) {
            list += (list.empty() ? "\"" : ", \"") + d + "\"";
        }
        sets.push_back("network.dns=[" + list + "]");
    }
    return Recipe::load(path, sets);
}

void write_file_atomically(const std::filesystem::path& path, const std::string& content) {
    AtomicOutput out(path);
    {
        std::ofstream f(out.temp_path(), std::ios::binary | std::ios::trunc);
        f << content;
        if (!f.flush()) {
            throw Error(ErrorCategory::io, path.string(), "cannot write");
        }
    }
    out.commit();
}

// --set values as recorded in the manifest, with secrets replaced.
std::vector<std::string> redacted(const std::vector<std::string>& overrides) {
    std::vector<std::string> out;
    for (const auto& o : overrides) {
        const std::string key = o.substr(0, o.find('='));
        const bool secret = key.ends_with("password") || key.ends_with("password_hash") ||
                            key.ends_with("passphrase") || key.ends_with("psk");
        out.push_back(secret ? key + "=(not recorded)" : o);
    }
    return out;
}

void write_manifest(const ClusterOptions& options, const ClusterSpec& spec,
                    const ClusterResult& result) {
    nlohmann::json nodes = nlohmann::json::array();
    std::string sums;
    for (const auto& n : result.nodes) {
        nodes.push_back({{"role", n.node.role},
                         {"hostname", n.node.hostname},
                         {"address", n.node.address},
                         {"image", n.image.filename().string()},
                         {"size", n.size},
                         {"sha256", n.sha256},
                         {"host_keys", n.host_key_fingerprints}});
        sums += fmt::format("{}  {}\n", n.sha256, n.image.filename().string());
    }
    const nlohmann::json manifest = {
        {"pimint_version", std::string(version())},
        {"recipe", std::filesystem::absolute(options.recipe).string()},
        {"recipe_sha256", sha256_file(options.recipe)},
        {"overrides", redacted(options.overrides)},
        {"base_image", std::filesystem::absolute(options.base).string()},
        {"base_sha256", sha256_file(options.base)},
        {"cluster",
         {{"name", spec.name},
          {"master", spec.master},
          {"workers", spec.workers},
          {"subnet", spec.subnet},
          {"slots", spec.slots},
          {"key_type", spec.key_type}}},
        {"nodes", nodes},
    };
    write_file_atomically(options.output_dir / "manifest.json", manifest.dump(2) + "\n");
    write_file_atomically(options.output_dir / "SHA256SUMS", sums);
}

} // namespace

ClusterResult build_cluster(const ClusterOptions& options) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto say = [&](const std::string& m) {
        if (options.status) {
            options.status(m);
        }
    };
    const ClusterSpec spec = load_cluster_spec(options.recipe, options.overrides, options.workers);
    const std::vector<PlannedNode> nodes = plan_cluster(spec);
    std::vector<Recipe> recipes;
    for (const auto& node : nodes) {
        recipes.push_back(node_recipe(options, spec, node));
    }
    require_pi_layout(read_partition_table(options.base), options.base);
    std::error_code ec;
    std::filesystem::create_directories(options.output_dir, ec);
    if (ec || ::access(options.output_dir.c_str(), W_OK) != 0) {
        throw Error(ErrorCategory::io, options.output_dir.string(),
                    "cannot create or write the output directory");
    }

    say(fmt::format("generating SSH keys for {} nodes", nodes.size()));
    const ClusterKeys keys = generate_cluster_keys(spec, nodes);

    std::vector<std::unique_ptr<AtomicOutput>> outputs;
    Appliance appliance(options.status);
    std::vector<int> drives;
    for (size_t i = 0; i < nodes.size(); ++i) {
        check_interrupted();
        say(fmt::format("copying the base image to {}", nodes[i].image_name));
        outputs.push_back(std::make_unique<AtomicOutput>(options.output_dir / nodes[i].image_name));
        sparse_copy(options.base, outputs.back()->temp_path());
        if (const auto grow = grow_bytes(recipes[i]); grow > 0) {
            std::filesystem::resize_file(outputs.back()->temp_path(),
                                         std::filesystem::file_size(outputs.back()->temp_path()) +
                                             grow);
        }
        drives.push_back(appliance.add_image(outputs.back()->temp_path(), Access::read_write));
    }
    appliance.launch();

    std::vector<std::pair<std::string, std::string>> hosts;
    for (const auto& n : nodes) {
        hosts.emplace_back(n.hostname, n.address);
    }
    for (size_t i = 0; i < nodes.size(); ++i) {
        say(fmt::format("{}: applying the recipe", nodes[i].hostname));
        if (grow_bytes(recipes[i]) > 0) {
            appliance.grow_root(drives[i]);
        }
        NodeContext node;
        node.hostname = nodes[i].hostname;
        node.index = nodes[i].index;
        node.ip = nodes[i].address;
        node.cluster = spec.name;
        node.hosts = hosts;
        apply_steps(appliance, drives[i], recipes[i], node, options.status);
        appliance.mount(drives[i]);
        install_node_identity(appliance.fs(), spec, nodes, i, keys);
        appliance.unmount();
    }
    appliance.shutdown();

    ClusterResult result;
    for (size_t i = 0; i < nodes.size(); ++i) {
        check_interrupted();
        say(fmt::format("hashing {}", nodes[i].image_name));
        NodeResult r;
        r.node = nodes[i];
        r.image = options.output_dir / nodes[i].image_name;
        r.size = std::filesystem::file_size(outputs[i]->temp_path());
        r.sha256 = sha256_file(outputs[i]->temp_path());
        for (const auto& k : keys.nodes[i].host_keys) {
            r.host_key_fingerprints.push_back(k.fingerprint);
        }
        outputs[i]->commit();
        result.nodes.push_back(std::move(r));
    }
    result.backend = appliance.backend();
    result.launch_seconds = appliance.launch_seconds();
    write_manifest(options, spec, result);
    result.total_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
}

} // namespace pimint
