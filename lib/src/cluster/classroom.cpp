#include "pimint/cluster/classroom.hpp"

#include "core/ipv4.hpp"
#include "core/validate.hpp"
#include "pimint/core/error.hpp"
#include "pimint/core/files.hpp"
#include "pimint/core/version.hpp"
#include "recipe/step_table.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <set>

namespace pimint {
namespace {

// Expands {number} and {number:0N} (the cluster's number, zero-padded to N digits).
std::string expand_number(const std::string& pattern, int number, const StepTable& t,
                          std::string_view key) {
    std::string out;
    for (size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i] != '{') {
            out += pattern[i];
            continue;
        }
        const auto close = pattern.find('}', i);
        const std::string inner =
            close == std::string::npos ? "" : pattern.substr(i + 1, close - i - 1);
        if (inner == "number") {
            out += std::to_string(number);
        } else if (inner.size() == 9 && inner.starts_with("number:0") && inner[8] >= '1' &&
                   inner[8] <= '9') {
            out += fmt::format("{:0{}}", number, inner[8] - '0');
        } else {
            t.fail(key, "the only placeholder here is {number} (or {number:02}, zero-padded)");
        }
        i = close;
    }
    return out;
}

std::string quoted(const std::string& s) {
    return nlohmann::json(s).dump(); // a JSON string is a valid TOML basic string
}

void write_summary(const ClassroomOptions& options, const ClassroomSpec& spec,
                   const std::vector<ClassroomCluster>& clusters) {
    nlohmann::json list = nlohmann::json::array();
    std::string csv = "cluster,node,hostname,address,image\n";
    for (const auto& c : clusters) {
        nlohmann::json nodes = nlohmann::json::array();
        for (const auto& n : c.result.nodes) {
            const std::string image = c.plan.name + "/" + n.node.image_name;
            const std::string node =
                n.node.role == "master" ? "master" : fmt::format("worker {}", n.node.index);
            nodes.push_back({{"role", n.node.role},
                             {"hostname", n.node.hostname},
                             {"address", n.node.address},
                             {"image", image},
                             {"sha256", n.sha256},
                             {"host_keys", n.host_key_fingerprints}});
            csv += fmt::format("{},{},{},{},{}\n", c.plan.name, node, n.node.hostname,
                               n.node.address, image);
        }
        list.push_back({{"number", c.plan.number},
                        {"name", c.plan.name},
                        {"subnet", c.plan.subnet},
                        {"nodes", nodes}});
    }
    const nlohmann::json manifest = {
        {"pimint_version", std::string(version())},
        {"class_file", std::filesystem::absolute(spec.file).string()},
        {"clusters", list},
    };
    write_file_atomically(options.output_dir / "manifest.json", manifest.dump(2) + "\n");
    write_file_atomically(options.output_dir / "labels.csv", csv);
}

// Every cluster of the class; checks names are unique and subnets valid.
std::vector<PlannedCluster> plan_clusters(const ClassroomSpec& spec, const StepTable& t) {
    std::vector<PlannedCluster> out;
    std::set<std::string> names;
    for (int n = 1; n <= spec.clusters; ++n) {
        PlannedCluster c;
        c.number = n;
        c.name = expand_number(spec.name, n, t, "name");
        c.hostname_prefix = expand_number(spec.hostname_prefix, n, t, "hostname_prefix");
        c.subnet = expand_number(spec.subnet, n, t, "subnet");
        if (const auto problem = validate::hostname(c.name); !problem.empty()) {
            t.fail("name", fmt::format("cluster {}: {}", n, problem));
        }
        if (!names.insert(c.name).second) {
            t.fail("name",
                   fmt::format("two clusters would be named {}; include {{number}}", c.name));
        }
        if (const auto problem = validate::ipv4_cidr(c.subnet); !problem.empty()) {
            t.fail("subnet", fmt::format("cluster {}: {}; a class of {} clusters needs a pattern "
                                         "valid for every number",
                                         n, problem, spec.clusters));
        }
        const ipv4::Subnet subnet = ipv4::parse_subnet(c.subnet);
        const auto at = [&](int offset, std::string_view key) {
            const std::uint64_t address = std::uint64_t(subnet.network) + std::uint64_t(offset);
            if (address < subnet.first_host() || address > subnet.last_host()) {
                t.fail(key, fmt::format("offset {} is outside {}", offset, c.subnet));
            }
            return ipv4::format(static_cast<std::uint32_t>(address));
        };
        c.first_address = at(spec.first_host, "first_host");
        if (spec.gateway_host) {
            c.gateway = at(*spec.gateway_host, "gateway_host");
        }
        out.push_back(std::move(c));
    }
    return out;
}

} // namespace

ClassroomSpec load_classroom(const std::filesystem::path& file) {
    toml::table doc;
    try {
        doc = toml::parse_file(file.string());
    } catch (const toml::parse_error& e) {
        throw Error(ErrorCategory::recipe, location_of(e.source(), file.string()).str(),
                    std::string(e.description()));
    } catch (const std::exception&) {
        throw Error(ErrorCategory::recipe, file.string(), "no such class file; check the path");
    }
    for (const auto& [key, value] : doc) {
        if (key.str() != "classroom") {
            throw Error(ErrorCategory::recipe, location_of(value.source(), file.string()).str(),
                        fmt::format("unknown table [{}]; a class file has one [classroom] table",
                                    key.str()));
        }
    }
    const toml::table* table = doc["classroom"].as_table();
    if (table == nullptr) {
        throw Error(ErrorCategory::recipe, file.string(),
                    "no [classroom] table; start the file with [classroom] and recipe = ...");
    }
    auto impl = std::make_unique<StepTable::Impl>();
    impl->name = "classroom";
    impl->parts = {table};
    impl->where = location_of(table->source(), file.string());
    StepTable t(std::move(impl));
    ClassroomSpec spec;
    spec.file = file;
    const auto dir = file.parent_path();
    const auto recipe = t.plain("recipe");
    if (auto base = t.plain("base")) {
        spec.base = dir / *base;
    }
    spec.clusters =
        t.integer_in("clusters", 1, 999, "a class has 1 to 999 clusters").value_or(spec.clusters);
    spec.workers = t.integer_in("workers", 1, 4096, "a cluster has 1 to 4096 workers");
    const std::pair<const char*, std::string*> patterns[] = {
        {"name", &spec.name}, {"hostname_prefix", &spec.hostname_prefix}, {"subnet", &spec.subnet}};
    for (const auto& [key, field] : patterns) {
        if (auto v = t.plain(key)) {
            *field = *v;
        }
    }
    spec.first_host = t.integer_in("first_host", 1, 65534,
                                   "give the first node's offset in the subnet, such as 10")
                          .value_or(spec.first_host);
    spec.gateway_host = t.integer_in("gateway_host", 1, 65534,
                                     "give the gateway's offset in the subnet, such as 1");
    if (auto sets = t.strings("set")) {
        for (const auto& s : *sets) {
            spec.overrides.push_back(s.text());
        }
    }
    t.finish(); // unknown keys first: a misspelling is the likeliest cause of what follows
    if (!recipe) {
        t.fail("", "give the cluster recipe: recipe = \"mpi-cluster.toml\"");
    }
    spec.recipe = dir / *recipe;
    if (!std::filesystem::is_regular_file(spec.recipe)) {
        t.fail("recipe", fmt::format("{} does not exist", spec.recipe.string()));
    }
    for (const auto& [key, field] : patterns) {
        expand_number(*field, 1, t, key); // checks the placeholders
    }
    if (spec.name.find("{number") == std::string::npos) {
        t.fail("name", "each cluster needs its own name: include {number}, as in "
                       "\"cluster{number:02}\"");
    }
    spec.clusters_planned = plan_clusters(spec, t);
    return spec;
}

Shard Shard::parse(const std::string& text) {
    Shard s;
    const auto slash = text.find('/');
    try {
        if (slash == std::string::npos) {
            throw std::invalid_argument("no slash");
        }
        size_t used = 0;
        s.index = std::stoi(text.substr(0, slash), &used);
        const std::string count = text.substr(slash + 1);
        s.count = std::stoi(count, &used);
        if (used != count.size() || s.index < 1 || s.count < 1 || s.index > s.count) {
            throw std::invalid_argument("range");
        }
    } catch (const std::exception&) {
        throw Error(
            ErrorCategory::usage, "--shard",
            fmt::format("'{}' is not a shard; give i/n with 1 <= i <= n, such as 2/8", text));
    }
    return s;
}

ClassroomResult build_classroom(const ClassroomOptions& options) {
    const ClassroomSpec spec = load_classroom(options.class_file);
    const auto base = options.base ? options.base : spec.base;
    if (!base) {
        throw Error(ErrorCategory::usage, "--base",
                    fmt::format("{} names no base image; give --base IMAGE or base = \"...\"",
                                options.class_file.string()));
    }
    std::vector<std::string> overrides = spec.overrides;
    overrides.insert(overrides.end(), options.overrides.begin(), options.overrides.end());
    // The recipe's own node names, to put the prefix before.
    const ClusterSpec recipe_spec = load_cluster_spec(spec.recipe, overrides);
    ClassroomResult result;
    // The clusters differ only in their [cluster] values: the first makes the stages
    // (base image + the steps every node shares, MPICH included), the others copy them.
    const auto stages = make_stage_cache();
    for (const auto& plan : spec.clusters_planned) {
        if (!options.shard.includes(plan.number)) {
            continue;
        }
        if (options.status) {
            options.status(
                fmt::format("cluster {} of {}: {}", plan.number, spec.clusters, plan.name));
        }
        ClusterOptions cluster;
        cluster.recipe = spec.recipe;
        cluster.base = *base;
        cluster.output_dir = options.output_dir / plan.name;
        cluster.workers = spec.workers;
        cluster.status = options.status;
        cluster.progress = options.progress;
        cluster.overrides = overrides;
        cluster.stage_cache = stages;
        cluster.layout = options.layout;
        const auto set = [&](const std::string& key, const std::string& value) {
            cluster.overrides.push_back(fmt::format("cluster.{}={}", key, quoted(value)));
        };
        set("name", plan.name);
        set("master", plan.hostname_prefix + recipe_spec.master);
        set("worker_name", plan.hostname_prefix + recipe_spec.worker_name);
        set("subnet", plan.subnet);
        set("first_address", plan.first_address);
        set("gateway", plan.gateway); // empty clears the recipe's, from another subnet
        result.clusters.push_back({plan, cluster.output_dir, build_cluster(cluster)});
    }
    if (options.shard.count == 1) {
        write_summary(options, spec, result.clusters);
        result.summary_written = true;
    }
    return result;
}

} // namespace pimint
