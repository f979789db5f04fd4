#include "cluster/cluster_phases.hpp"

#include "image/disk_image_reader.hpp"
#include "image/source_date.hpp"
#include "pimint/core/error.hpp"
#include "pimint/core/files.hpp"
#include "pimint/core/version.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <set>

namespace pimint {
namespace {

// The worker count: --workers, or what the directory holds plus --add-workers, or what it
// holds.
std::optional<int> worker_count(const ClusterOptions& options, int recorded) {
    if (options.add_workers < 0) {
        throw Error(ErrorCategory::usage, "--add-workers", "give a positive number of workers");
    }
    if (options.add_workers == 0) {
        return options.workers || recorded == 0 ? options.workers : std::optional(recorded);
    }
    if (options.workers) {
        throw Error(ErrorCategory::usage, "--add-workers",
                    "give either --workers (the total) or --add-workers (how many more)");
    }
    if (recorded == 0) {
        throw Error(ErrorCategory::usage, options.output_dir.string(),
                    "holds no cluster to add workers to; make one first with pimint cluster "
                    "-o DIR");
    }
    return recorded + options.add_workers;
}

std::string fingerprints(const NodeKeys& keys) {
    std::string out;
    for (const auto& k : keys.host_keys) {
        out += k.fingerprint + ";";
    }
    return out;
}

// Is the finished image of `node` still there, unchanged, and made from `inputs`?
bool is_done(const std::map<std::string, ManifestEntry>& entries, const PlannedNode& node,
             const std::string& inputs, const std::filesystem::path& dir) {
    const auto it = entries.find(node.image_name);
    if (it == entries.end() || it->second.inputs != inputs) {
        return false;
    }
    const ManifestEntry& e = it->second;
    std::error_code ec;
    const auto size = std::filesystem::file_size(dir / node.image_name, ec);
    const bool overlay = !e.result.backing.empty();
    return !ec && size == (overlay ? e.overlay_size : e.result.size) &&
           mtime_ns(dir / node.image_name) == e.mtime_ns &&
           (!overlay || mtime_ns(dir / e.result.backing) == e.backing_mtime_ns);
}

// The layout: as asked, or as the directory holds it, or full. A directory keeps its own.
ImageLayout image_layout(const ClusterOptions& options, const ClusterSpec& spec) {
    const auto recorded = recorded_layout(options.output_dir);
    const ImageLayout layout = options.layout.value_or(recorded.value_or(ImageLayout::full));
    if (recorded && *recorded != layout) {
        throw Error(ErrorCategory::usage, "--layout",
                    fmt::format("{} holds a cluster in the {} layout; give --layout {}, or a new "
                                "output directory",
                                options.output_dir.string(), layout_name(*recorded),
                                layout_name(*recorded)));
    }
    if (layout == ImageLayout::overlay && spec.unique_disk_ids) {
        throw Error(ErrorCategory::recipe, spec.origin_of("unique_disk_ids"),
                    "cluster.unique_disk_ids: the overlay layout shares the stage's disk "
                    "identity; set it to false, or use --layout full");
    }
    return layout;
}

} // namespace

std::filesystem::path role_recipe_path(const ClusterOptions& options, const ClusterSpec& spec,
                                       const std::string& role) {
    const std::string& role_recipe = role == "master" ? spec.master_recipe : spec.worker_recipe;
    return role_recipe.empty() ? options.recipe : options.recipe.parent_path() / role_recipe;
}

RunPlan plan_run(const ClusterOptions& options) {
    const int recorded = recorded_workers(options.output_dir);
    RunPlan plan;
    plan.spec =
        load_cluster_spec(options.recipe, options.overrides, worker_count(options, recorded));
    if (recorded > plan.spec.workers) {
        throw Error(ErrorCategory::usage, "--workers",
                    fmt::format("{} holds a cluster of {} workers, which cannot shrink in place; "
                                "give --workers {} or more, or a new output directory",
                                options.output_dir.string(), recorded, recorded));
    }
    plan.nodes = plan_cluster(plan.spec);
    plan.layout = image_layout(options, plan.spec);
    if (plan.layout == ImageLayout::overlay) {
        for (auto& n : plan.nodes) {
            n.image_name = std::filesystem::path(n.image_name).replace_extension(".qcow2");
        }
    }
    require_raw_image(options.base);
    plan.base_table = read_partition_table(options.base);
    plan.base_first_sector = read_first_sector(options.base);
    require_pi_layout(plan.base_table, options.base);
    source_date_epoch(); // a malformed value fails here, before anything is written
    if (!options.keys_dir.empty()) {
        plan.supplied_keys = load_supplied_keys(options.keys_dir, plan.spec.key_type, plan.nodes);
    }
    return plan;
}

bool KeyPlan::has_new_keys(const std::vector<PlannedNode>& nodes, size_t i) const {
    if (!maker) {
        return false;
    }
    const auto made = [&](const PlannedNode& n) { return maker->makes_host_keys(n.hostname); };
    return maker->makes_user_key() || made(nodes[i]) ||
           (nodes[i].role == "master" ? std::any_of(nodes.begin(), nodes.end(), made)
                                      : made(nodes.front()));
}

KeyPlan plan_keys(const ClusterOptions& options, const RunPlan& plan, const Say& say) {
    const auto& dir = options.output_dir;
    KeyPlan out;
    out.keys = load_cluster_keys(dir);
    if (out.keys.user && out.keys.user->type != plan.spec.key_type) {
        throw Error(ErrorCategory::recipe, "cluster.key_type",
                    fmt::format("{} holds a cluster whose master key is {}; keep key_type = "
                                "\"{}\" or use a new output directory",
                                dir.string(), out.keys.user->type, out.keys.user->type));
    }
    if (plan.supplied_keys) {
        if (out.keys.user && !same_keys(out.keys, *plan.supplied_keys)) {
            throw Error(ErrorCategory::usage, dir.string(),
                        fmt::format("holds a cluster with other keys than {}; leave out "
                                    "--keys, or use a new output directory",
                                    options.keys_dir.string()));
        }
        if (!out.keys.user) {
            save_cluster_keys(dir, *plan.supplied_keys);
        }
        out.keys = *plan.supplied_keys;
        return out;
    }
    // Made while the appliance starts, on the core it leaves free.
    out.maker = std::make_unique<KeyMaker>(out.keys, plan.spec.key_type, plan.nodes, 1);
    if (out.maker->makes_anything()) {
        say("making SSH keys while the appliance starts");
    } else {
        out.maker.reset();
    }
    return out;
}

// A worker's inputs cover only itself and the master, so adding workers rebuilds the
// master alone; the master's cover every node (hosts, machinefile, known_hosts).
std::string node_inputs(const RunPlan& plan, const RebuildPlan& rebuild, const ClusterKeys& keys,
                        size_t i) {
    const auto& spec = plan.spec;
    const auto& nodes = plan.nodes;
    const PlannedNode& n = nodes[i];
    const auto epoch = source_date_epoch();
    std::string material = fmt::format(
        "pimint {}\nbase {}\nrecipe {}\ncluster {} {} {} {} {} {} {} {}\nuser {}\ndate {}\n",
        version(), rebuild.header.base_sha256, rebuild.role_fingerprints.at(n.role), spec.name,
        spec.addressing, spec.subnet, spec.gateway, fmt::join(spec.dns, ","), spec.slots,
        spec.key_type, spec.unique_disk_ids, keys.user->public_key,
        epoch ? std::to_string(*epoch) : "clock");
    const auto add = [&](const PlannedNode& p) {
        material += fmt::format("node {} {} {} {} {}\n", p.role, p.index, p.hostname, p.address,
                                fingerprints(keys.hosts.at(p.hostname)));
    };
    add(n);
    if (n.role == "master") {
        std::for_each(nodes.begin() + 1, nodes.end(), add);
    } else {
        add(nodes.front());
    }
    return sha256_text(material);
}

RebuildPlan plan_rebuilds(const ClusterOptions& options, const RunPlan& plan, const KeyPlan& keys,
                          std::string base_sha256, const Say& say) {
    say("hashing the base image and the recipe's inputs");
    RebuildPlan out;
    // One fingerprint per distinct recipe file: the roles usually share the cluster's.
    std::map<std::filesystem::path, std::string> fingerprint_of;
    const auto fingerprint = [&](const std::filesystem::path& recipe) -> const std::string& {
        auto it = fingerprint_of.find(recipe);
        if (it == fingerprint_of.end()) {
            it = fingerprint_of
                     .emplace(recipe, Recipe::load(recipe, options.overrides).fingerprint())
                     .first;
        }
        return it->second;
    };
    out.header.recipe = std::filesystem::absolute(options.recipe).string();
    out.header.recipe_fingerprint = fingerprint(options.recipe);
    out.header.overrides = options.overrides;
    out.header.base = std::filesystem::absolute(options.base).string();
    out.header.base_sha256 = std::move(base_sha256);
    out.header.spec = &plan.spec;
    out.header.layout = plan.layout;
    if (plan.layout == ImageLayout::overlay) {
        out.header.stages = recorded_stages(options.output_dir);
    }
    for (const std::string role : {"master", "worker"}) {
        out.role_fingerprints[role] = fingerprint(role_recipe_path(options, plan.spec, role));
    }
    out.entries = read_cluster_manifest(options.output_dir);
    out.rebuilt.assign(plan.nodes.size(), false);
    for (size_t i = 0; i < plan.nodes.size(); ++i) {
        out.inputs.push_back(keys.has_new_keys(plan.nodes, i)
                                 ? std::string()
                                 : node_inputs(plan, out, keys.keys, i));
        if (out.inputs[i].empty() ||
            !is_done(out.entries, plan.nodes[i], out.inputs[i], options.output_dir)) {
            out.todo.push_back(i);
            out.rebuilt[i] = true;
        }
    }
    if (out.todo.size() < plan.nodes.size()) {
        say(fmt::format("{} of {} images are up to date and kept",
                        plan.nodes.size() - out.todo.size(), plan.nodes.size()));
    }
    return out;
}

void write_manifest(const std::filesystem::path& dir, const RunPlan& plan,
                    const RebuildPlan& rebuild, bool complete) {
    std::vector<const ManifestEntry*> done;
    for (const auto& n : plan.nodes) {
        if (auto it = rebuild.entries.find(n.image_name); it != rebuild.entries.end()) {
            done.push_back(&it->second);
        }
    }
    write_cluster_manifest(dir, rebuild.header, done, complete);
}

void remove_outdated(const std::filesystem::path& dir, const RunPlan& plan, RebuildPlan& rebuild) {
    if (rebuild.todo.empty()) {
        return;
    }
    for (const size_t i : rebuild.todo) {
        rebuild.entries.erase(plan.nodes[i].image_name);
    }
    write_manifest(dir, plan, rebuild, false);
    for (const size_t i : rebuild.todo) {
        std::error_code ec;
        std::filesystem::remove(dir / plan.nodes[i].image_name, ec);
        if (ec) {
            throw Error(ErrorCategory::io, (dir / plan.nodes[i].image_name).string(),
                        "cannot remove the outdated image: " + ec.message());
        }
    }
}

namespace {

// The overlay layout's stage file of a role recipe: stage.img when the roles share one
// recipe, else one per role.
std::filesystem::path stage_file(const ClusterOptions& options, const ClusterSpec& spec,
                                 const std::filesystem::path& recipe) {
    const auto master = role_recipe_path(options, spec, "master");
    if (master == role_recipe_path(options, spec, "worker")) {
        return options.output_dir / "stage.img";
    }
    return options.output_dir / (recipe == master ? "stage-master.img" : "stage-worker.img");
}

// The stage file recorded for `key`, when it is still there unchanged.
std::optional<StageRecord> kept_stage(const std::vector<StageRecord>& records,
                                      const std::filesystem::path& file, const std::string& key) {
    for (const auto& r : records) {
        std::error_code ec;
        if (r.file == file.filename() && r.key == key &&
            std::filesystem::file_size(file, ec) == r.size && !ec && mtime_ns(file) == r.mtime_ns) {
            return r;
        }
    }
    return std::nullopt;
}

// A stage from a StageCache as this directory's stage file: a hard link to the file of
// the cluster that made it (no copy where both share a filesystem).
void link_stage(const Stage& cached, const std::filesystem::path& file) {
    AtomicOutput out(file);
    std::error_code ec;
    std::filesystem::remove(out.temp_path(), ec);
    std::filesystem::create_hard_link(cached.file, out.temp_path(), ec);
    if (ec) {
        sparse_copy(cached.file, out.temp_path());
    }
    out.commit();
}

} // namespace

StagePlan plan_stages(const ClusterOptions& options, const RunPlan& plan, RebuildPlan& rebuild,
                      const Say& say) {
    const bool overlay = plan.layout == ImageLayout::overlay;
    std::map<std::filesystem::path, size_t> images_per_recipe;
    for (const size_t i : rebuild.todo) {
        ++images_per_recipe[role_recipe_path(options, plan.spec, plan.nodes[i].role)];
    }
    StagePlan out;
    for (const auto& [path, count] : images_per_recipe) {
        // Overlays need a stage even for one image.
        if (count < (overlay ? 1U : 2U)) {
            continue;
        }
        out.staged.insert(path);
        Recipe recipe = Recipe::load(path, options.overrides);
        const std::string& key = out.keys[path] = stage_key(rebuild.header.base_sha256, recipe);
        std::shared_ptr<const Stage> cached;
        if (options.stage_cache && options.stage_cache->stages.contains(key)) {
            cached = options.stage_cache->stages.at(key);
        }
        if (!overlay) {
            if (cached) {
                out.stages[path] = cached;
                say(fmt::format("the steps shared by {}'s nodes: stage kept from an earlier "
                                "cluster",
                                path.filename().string()));
            } else {
                out.to_make.emplace(path, std::move(recipe));
            }
            continue;
        }
        const auto file = out.files[path] = stage_file(options, plan.spec, path);
        auto stage = std::make_shared<Stage>();
        stage->file = file;
        stage->shared_steps = step_names(recipe.split_for_nodes().shared);
        if (const auto kept = kept_stage(rebuild.header.stages, file, key)) {
            stage->sha256 = kept->sha256;
            out.stages[path] = stage;
            say(fmt::format("{} is up to date and kept", file.filename().string()));
            continue;
        }
        // Made again (or linked): no overlay on the old file may stay.
        for (size_t i = 0; i < plan.nodes.size(); ++i) {
            if (!rebuild.rebuilt[i] &&
                role_recipe_path(options, plan.spec, plan.nodes[i].role) == path) {
                rebuild.rebuilt[i] = true;
                rebuild.todo.push_back(i);
            }
        }
        std::sort(rebuild.todo.begin(), rebuild.todo.end());
        if (cached) {
            // Linked once the outdated overlays are gone (link_stages).
            out.to_link[path] = cached;
            out.stages[path] = stage;
            say(fmt::format("{}: stage kept from an earlier cluster", file.filename().string()));
        } else {
            out.to_make.emplace(path, std::move(recipe));
        }
    }
    return out;
}

void link_stages(StagePlan& stages, RebuildPlan& rebuild) {
    for (const auto& [path, cached] : stages.to_link) {
        const Stage& planned = *stages.stages.at(path);
        auto stage = std::make_shared<Stage>();
        stage->file = planned.file;
        stage->shared_steps = planned.shared_steps;
        link_stage(*cached, stage->file);
        // A full-layout cluster's stage was never hashed.
        stage->sha256 = cached->sha256.empty() ? sha256_file(stage->file) : cached->sha256;
        record_stage(rebuild.header, stages.keys.at(path), *stage);
        stages.stages[path] = stage;
    }
    stages.to_link.clear();
}

std::vector<std::filesystem::path> prune_stages(const std::filesystem::path& dir,
                                                RebuildPlan& rebuild) {
    std::set<std::string> used;
    for (const auto& [name, entry] : rebuild.entries) {
        used.insert(entry.result.backing);
    }
    std::vector<std::filesystem::path> unused;
    std::erase_if(rebuild.header.stages, [&](const StageRecord& r) {
        if (used.contains(r.file)) {
            return false;
        }
        unused.push_back(dir / r.file);
        return true;
    });
    return unused;
}

void record_stage(ManifestHeader& header, const std::string& key, const Stage& stage) {
    const std::string name = stage.file.filename().string();
    std::erase_if(header.stages, [&](const StageRecord& r) { return r.file == name; });
    header.stages.push_back(
        {name, key, stage.sha256, std::filesystem::file_size(stage.file), mtime_ns(stage.file)});
    std::sort(header.stages.begin(), header.stages.end(),
              [](const StageRecord& a, const StageRecord& b) { return a.file < b.file; });
}

} // namespace pimint
