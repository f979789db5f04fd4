#include "pimint/cluster.hpp"

#include "cluster_keys.hpp"
#include "cluster_manifest.hpp"
#include "cluster_node.hpp"
#include "cluster_stage.hpp"
#include "disk_identity.hpp"
#include "drive_filler.hpp"
#include "ipv4.hpp"
#include "output_lock.hpp"
#include "pimint/apply.hpp"
#include "pimint/error.hpp"
#include "pimint/files.hpp"
#include "pimint/interrupt.hpp"
#include "pimint/version.hpp"
#include "source_date.hpp"
#include "work_queue.hpp"

#include <algorithm>
#include <chrono>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <future>
#include <memory>
#include <set>
#include <unistd.h>

namespace pimint {
namespace {

std::filesystem::path role_recipe_path(const ClusterOptions& options, const ClusterSpec& spec,
                                       const std::string& role) {
    const std::string& role_recipe = role == "master" ? spec.master_recipe : spec.worker_recipe;
    return role_recipe.empty() ? options.recipe : options.recipe.parent_path() / role_recipe;
}

// The recipe for one node: its role's recipe with the user's --set values, then the
// node's planned name and address (which win).
Recipe node_recipe(const ClusterOptions& options, const ClusterSpec& spec,
                   const PlannedNode& node) {
    std::vector<std::string> sets = options.overrides;
    // Quoted, so that a name like "1" or "true" stays a string.
    sets.push_back(fmt::format("hostname.name=\"{}\"", node.hostname));
    if (spec.addressing == "dhcp") {
        return Recipe::load(role_recipe_path(options, spec, node.role), sets);
    }
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
    return Recipe::load(role_recipe_path(options, spec, node.role), sets);
}

std::string fingerprints(const NodeKeys& keys) {
    std::string out;
    for (const auto& k : keys.host_keys) {
        out += k.fingerprint + ";";
    }
    return out;
}

// A hash of everything node `i`'s image is made from. The master's covers every node
// (hosts, machinefile, known_hosts); a worker's covers only itself and the master, so
// adding workers rebuilds the master alone.
std::string node_inputs(const std::string& base_sha256, const std::string& role_fingerprint,
                        const ClusterSpec& spec, const std::vector<PlannedNode>& nodes, size_t i,
                        const ClusterKeys& keys) {
    const PlannedNode& n = nodes[i];
    const auto epoch = source_date_epoch();
    std::string material = fmt::format(
        "pimint {}\nbase {}\nrecipe {}\ncluster {} {} {} {} {} {} {} {}\nuser {}\ndate {}\n",
        version(), base_sha256, role_fingerprint, spec.name, spec.addressing, spec.subnet,
        spec.gateway, fmt::join(spec.dns, ","), spec.slots, spec.key_type, spec.unique_disk_ids,
        keys.user->public_key, epoch ? std::to_string(*epoch) : "clock");
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

// Is the finished image of `entry` still there, unchanged, and made from `inputs`?
bool is_done(const std::map<std::string, ManifestEntry>& entries, const PlannedNode& node,
             const std::string& inputs, const std::filesystem::path& dir) {
    const auto it = entries.find(node.image_name);
    if (it == entries.end() || it->second.inputs != inputs) {
        return false;
    }
    std::error_code ec;
    const auto size = std::filesystem::file_size(dir / node.image_name, ec);
    return !ec && size == it->second.result.size &&
           mtime_ns(dir / node.image_name) == it->second.mtime_ns;
}

// Relative costs of the stages, for ProgressEvent::fraction: measured on TCG, a launch is
// about three image copies' worth, applying a whole recipe about four, a node's own
// steps on top of a stage about one, hashing one.
constexpr double copy_weight = 1;
constexpr double launch_weight = 3;
constexpr double apply_weight = 4;
constexpr double own_steps_weight = 1;
constexpr double hash_weight = 1;

// Tracks the run's share done and sends ProgressEvents.
class ProgressTracker {
public:
    ProgressTracker(const ProgressCallback& sink, size_t total, size_t todo, double units)
        : sink_(sink)
        , total_(total)
        , done_(total - todo)
        , units_(units) {}

    void stage(const std::string& image, const std::string& name, double finished_units = 0) {
        units_done_ += finished_units;
        if (name == "done") {
            ++done_;
        }
        if (sink_) {
            sink_(
                {image, name, done_, total_, units_ > 0 ? std::min(1.0, units_done_ / units_) : 1});
        }
    }

private:
    const ProgressCallback& sink_;
    size_t total_;
    size_t done_;
    double units_;
    double units_done_ = 0;
};

// One image being made in the current appliance launch.
struct Job {
    Job(size_t node_index, Recipe node_recipe)
        : node(node_index)
        , recipe(std::move(node_recipe)) {}

    size_t node = 0;
    Recipe recipe;
    std::unique_ptr<AtomicOutput> output;
    int drive = 0;
    std::optional<DiskIdentity> identity;
    const Stage* stage = nullptr; // copied from this stage, or from the base image
    // The image's SHA-256, computed on a host thread while the appliance edits the next
    // images; invalid when the image still changes after the appliance (disk identity).
    std::shared_future<std::string> sha256;
    std::vector<const Step*> steps; // what the appliance applies: all, or the node's own
    std::filesystem::path source;   // the stage or the base image
    std::uintmax_t size = 0;
    std::shared_future<void> source_ready; // when the stage is made in this launch
    // the copy into the image's pending drive; holds when it began
    std::shared_future<DriveFiller::Clock::time_point> filled;
    // In an image set: its drive's file, and where the image is in it. The image is
    // copied out of it into `output` once made.
    std::filesystem::path set_file;
    std::uint64_t offset = 0;
};

// The most images an image set holds (Appliance::add_pending_image_set).
constexpr size_t max_images_per_set = 64;

} // namespace

std::shared_ptr<StageCache> make_stage_cache() {
    return std::make_shared<StageCache>();
}

ClusterResult build_cluster(const ClusterOptions& options) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto say = [&](const std::string& m) {
        if (options.status) {
            options.status(m);
        }
    };
    const auto& dir = options.output_dir;
    const int recorded = recorded_workers(dir);
    std::optional<int> workers = options.workers;
    if (options.add_workers < 0) {
        throw Error(ErrorCategory::usage, "--add-workers", "give a positive number of workers");
    }
    if (options.add_workers > 0) {
        if (options.workers) {
            throw Error(ErrorCategory::usage, "--add-workers",
                        "give either --workers (the total) or --add-workers (how many more)");
        }
        if (recorded == 0) {
            throw Error(ErrorCategory::usage, dir.string(),
                        "holds no cluster to add workers to; make one first with pimint cluster "
                        "-o DIR");
        }
        workers = recorded + options.add_workers;
    } else if (!workers && recorded > 0) {
        workers = recorded;
    }
    const ClusterSpec spec = load_cluster_spec(options.recipe, options.overrides, workers);
    if (recorded > spec.workers) {
        throw Error(ErrorCategory::usage, "--workers",
                    fmt::format("{} holds a cluster of {} workers, which cannot shrink in place; "
                                "give --workers {} or more, or a new output directory",
                                dir.string(), recorded, recorded));
    }
    const std::vector<PlannedNode> nodes = plan_cluster(spec);
    const PartitionTable base_table = read_partition_table(options.base);
    const std::string base_first_sector = read_first_sector(options.base);
    require_pi_layout(base_table, options.base);
    source_date_epoch(); // a malformed value fails here, before anything is written
    std::optional<ClusterKeys> supplied;
    if (!options.keys_dir.empty()) {
        supplied = load_supplied_keys(options.keys_dir, spec.key_type, nodes);
    }
    const OutputDirLock lock(dir);
    if (lock.stale_removed() > 0) {
        say(fmt::format("removed {} temporary files left by an interrupted run",
                        lock.stale_removed()));
    }
    // Hashed while the keys are made.
    auto base_sha256 = std::async(std::launch::async, [&] { return sha256_file(options.base); });
    std::map<std::string, ManifestEntry> entries = read_cluster_manifest(dir);
    ClusterKeys keys = load_cluster_keys(dir);
    if (keys.user && keys.user->type != spec.key_type) {
        throw Error(ErrorCategory::recipe, "cluster.key_type",
                    fmt::format("{} holds a cluster whose master key is {}; keep key_type = "
                                "\"{}\" or use a new output directory",
                                dir.string(), keys.user->type, keys.user->type));
    }
    // Missing keys are made while the appliance starts, on the core it leaves free.
    std::optional<KeyMaker> key_maker;
    if (supplied) {
        if (keys.user && !same_keys(keys, *supplied)) {
            throw Error(ErrorCategory::usage, dir.string(),
                        fmt::format("holds a cluster with other keys than {}; leave out "
                                    "--keys, or use a new output directory",
                                    options.keys_dir.string()));
        }
        if (!keys.user) {
            save_cluster_keys(dir, *supplied);
        }
        keys = std::move(*supplied);
    } else {
        key_maker.emplace(keys, spec.key_type, nodes, 1);
        if (key_maker->makes_anything()) {
            say("making SSH keys while the appliance starts");
        } else {
            key_maker.reset();
        }
    }
    // Whether node `i`'s image is made from keys still being made, which no image made
    // before can match.
    const auto has_new_keys = [&](size_t i) {
        if (!key_maker) {
            return false;
        }
        const auto made = [&](const PlannedNode& n) {
            return key_maker->makes_host_keys(n.hostname);
        };
        return key_maker->makes_user_key() || made(nodes[i]) ||
               (nodes[i].role == "master" ? std::any_of(nodes.begin(), nodes.end(), made)
                                          : made(nodes.front()));
    };

    say("hashing the base image and the recipe's inputs");
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
    ManifestHeader header;
    header.recipe = std::filesystem::absolute(options.recipe).string();
    header.recipe_fingerprint = fingerprint(options.recipe);
    header.overrides = options.overrides;
    header.base = std::filesystem::absolute(options.base).string();
    header.base_sha256 = base_sha256.get();
    header.spec = &spec;
    std::map<std::string, std::string> role_fingerprints;
    for (const std::string role : {"master", "worker"}) {
        role_fingerprints[role] = fingerprint(role_recipe_path(options, spec, role));
    }
    std::vector<std::string> inputs;
    std::vector<size_t> todo;
    std::vector<bool> rebuilt(nodes.size(), false);
    const auto node_inputs_of = [&](size_t i) {
        return node_inputs(header.base_sha256, role_fingerprints[nodes[i].role], spec, nodes, i,
                           keys);
    };
    for (size_t i = 0; i < nodes.size(); ++i) {
        // Known once the keys are made.
        inputs.push_back(has_new_keys(i) ? std::string() : node_inputs_of(i));
        if (inputs[i].empty() || !is_done(entries, nodes[i], inputs[i], dir)) {
            todo.push_back(i);
            rebuilt[i] = true;
        }
    }
    const auto write_manifest = [&](bool complete) {
        std::vector<const ManifestEntry*> done;
        for (const auto& n : nodes) {
            if (auto it = entries.find(n.image_name); it != entries.end()) {
                done.push_back(&it->second);
            }
        }
        write_cluster_manifest(dir, header, done, complete);
    };
    if (todo.size() < nodes.size()) {
        say(fmt::format("{} of {} images are up to date and kept", nodes.size() - todo.size(),
                        nodes.size()));
    }
    // Images about to be rebuilt leave the manifest and the directory first, and a new
    // image enters the manifest just before it is renamed into place: whenever a run
    // stops, every image under its final name is complete and listed with its sha256.
    for (const size_t i : todo) {
        entries.erase(nodes[i].image_name);
    }
    if (!todo.empty()) {
        write_manifest(false);
        for (const size_t i : todo) {
            std::error_code ec;
            std::filesystem::remove(dir / nodes[i].image_name, ec);
            if (ec) {
                throw Error(ErrorCategory::io, (dir / nodes[i].image_name).string(),
                            "cannot remove the outdated image: " + ec.message());
            }
        }
    }

    // /etc/hosts lists every node at its planned address; with DHCP there is none to
    // list, and names resolve through mDNS instead.
    std::vector<std::pair<std::string, std::string>> hosts;
    for (const auto& n : nodes) {
        if (!n.address.empty()) {
            hosts.emplace_back(n.hostname, n.address);
        }
    }
    std::set<std::uint32_t> disk_ids{base_table.disk_id};
    ClusterResult result;
    const size_t batch_size = std::clamp<size_t>(options.drives_per_launch, 1, 250);
    // A stage for each role recipe with two or more images to make.
    std::map<std::filesystem::path, size_t> images_per_recipe;
    for (const size_t i : todo) {
        ++images_per_recipe[role_recipe_path(options, spec, nodes[i].role)];
    }
    // Stages an earlier run in this process made from the same inputs are taken as they
    // are; the others are made (and kept in the cache for later runs).
    std::set<std::filesystem::path> staged; // role recipes whose nodes copy a stage
    std::map<std::filesystem::path, std::shared_ptr<const Stage>> stages;
    std::map<std::filesystem::path, Recipe> stages_to_make;
    std::map<std::filesystem::path, std::string> stage_keys;
    for (const auto& [path, count] : images_per_recipe) {
        if (count < 2) {
            continue;
        }
        staged.insert(path);
        Recipe recipe = Recipe::load(path, options.overrides);
        stage_keys[path] = stage_key(header.base_sha256, recipe);
        if (options.stage_cache && options.stage_cache->stages.contains(stage_keys[path])) {
            stages[path] = options.stage_cache->stages.at(stage_keys[path]);
            say(fmt::format("the steps shared by {}'s nodes: stage kept from an earlier cluster",
                            path.filename().string()));
        } else {
            stages_to_make.emplace(path, std::move(recipe));
        }
    }
    const auto node_apply_weight = [&](const PlannedNode& n) {
        return staged.contains(role_recipe_path(options, spec, n.role)) ? own_steps_weight
                                                                        : apply_weight;
    };
    const size_t batches = (todo.size() + batch_size - 1) / batch_size;
    double units = static_cast<double>(batches) * launch_weight;
    for (const size_t i : todo) {
        units += copy_weight + node_apply_weight(nodes[i]) + hash_weight;
    }
    // Stages are made in the first launch.
    units += static_cast<double>(stages_to_make.size()) * (copy_weight + apply_weight);
    ProgressTracker progress(options.progress, nodes.size(), todo.size(), units);
    for (size_t i = 0; i < nodes.size(); ++i) {
        if (!rebuilt[i]) {
            progress.stage(nodes[i].image_name, "kept");
        }
    }
    const auto on_stage = [&](const std::filesystem::path& recipe, const std::string& what) {
        const std::string label = "shared steps of " + recipe.filename().string();
        if (what == "copying") {
            progress.stage(label, "copying");
        } else if (what == "applying") {
            progress.stage(label, "applying", copy_weight);
        } else {
            progress.stage(label, "waiting", apply_weight);
        }
    };
    for (size_t first = 0; first < todo.size(); first += batch_size) {
        Appliance appliance(options.status);
        std::vector<Job> jobs;
        std::vector<std::unique_ptr<AtomicOutput>> set_files; // never committed
        // Declared after the jobs, so that when a run fails they stop (after the copy and
        // the hash under way) before the jobs' temporary files are removed.
        DriveFiller filler;
        // Each image's SHA-256 is computed as soon as it is final, on the core the emulated
        // appliance leaves free.
        WorkQueue hashing(1);
        // The stages are made in the first launch, before its nodes.
        std::optional<StageBuild> stage_build;
        if (first == 0 && !stages_to_make.empty()) {
            stage_build.emplace(appliance, filler, options.base, dir, stages_to_make);
            for (const auto& [path, recipe] : stages_to_make) {
                stages[path] = stage_build->stage(path);
            }
        }
        for (size_t k = first; k < std::min(todo.size(), first + batch_size); ++k) {
            const PlannedNode& node = nodes[todo[k]];
            const auto role_recipe = role_recipe_path(options, spec, node.role);
            Job job(todo[k], node_recipe(options, spec, node));
            job.steps = job.recipe.step_list();
            std::filesystem::path source = options.base;
            std::uintmax_t size = std::filesystem::file_size(options.base) + grow_bytes(job.recipe);
            std::shared_future<void> source_ready;
            if (const auto it = stages.find(role_recipe); it != stages.end()) {
                job.stage = it->second.get();
                const auto split = job.recipe.split_for_nodes();
                if (step_names(split.shared) != job.stage->shared_steps) {
                    throw Error(ErrorCategory::internal, node.hostname,
                                "the node's recipe shares other steps than its stage");
                }
                job.steps = split.own;
                source = job.stage->image->temp_path();
                size = std::filesystem::file_size(source);
                if (stage_build && stages_to_make.contains(role_recipe)) {
                    source_ready = stage_build->ready(role_recipe);
                }
            }
            job.output = std::make_unique<AtomicOutput>(dir / node.image_name);
            job.source = source;
            job.size = size;
            job.source_ready = source_ready;
            if (spec.unique_disk_ids) {
                job.identity = new_disk_identity(disk_ids);
            }
            jobs.push_back(std::move(job));
        }
        // Images copied from the same stage share drives (image sets: one drive costs the
        // launch far more than a partition); the others, and those whose disk identity
        // changes after the appliance, get a drive each.
        for (size_t j = 0; j < jobs.size();) {
            size_t end = j + 1;
            while (jobs[j].stage && !spec.unique_disk_ids && end < jobs.size() &&
                   end - j < max_images_per_set && jobs[end].stage == jobs[j].stage) {
                ++end;
            }
            if (end - j > 1) {
                set_files.push_back(std::make_unique<AtomicOutput>(
                    dir / fmt::format("image-set-{}.img", set_files.size() + 1)));
                std::vector<std::filesystem::path> names;
                for (size_t m = j; m < end; ++m) {
                    names.push_back(jobs[m].output->final_path());
                }
                const auto indexes = appliance.add_pending_image_set(
                    set_files.back()->temp_path(), names, jobs[j].stage->image->temp_path());
                for (size_t m = j; m < end; ++m) {
                    jobs[m].drive = indexes[m - j];
                    jobs[m].set_file = set_files.back()->temp_path();
                    jobs[m].offset = appliance.image_offset(jobs[m].drive);
                }
            } else {
                Job& job = jobs[j];
                const std::filesystem::path file = job.output->temp_path();
                create_sparse_file(file, job.size);
                seed_partition_table(file, base_first_sector, grow_bytes(job.recipe) > 0,
                                     job.output->final_path());
                job.drive = appliance.add_pending_image(file, job.output->final_path());
            }
            j = end;
        }
        for (auto& job : jobs) {
            if (!job.set_file.empty()) {
                job.filled =
                    filler.add([source = job.source, size = job.size, to = job.set_file,
                                at = job.offset] { sparse_copy_range(source, 0, size, to, at); },
                               job.source_ready);
                continue;
            }
            job.filled = filler.add(
                // A copy of the base grows here; a stage has grown already.
                [source = job.source, file = job.output->temp_path(), size = job.size,
                 grow = grow_bytes(job.recipe) > 0 && !job.stage, name = job.output->final_path()] {
                    copy_to_size(source, file, size, grow, name);
                },
                job.source_ready);
        }
        filler.start();
        progress.stage("", "starting the appliance");
        appliance.launch();
        progress.stage("", "appliance running", launch_weight);
        if (stage_build) {
            stage_build->apply(options.status, on_stage);
            // Kept for later runs only once made: a run that fails before leaves none.
            if (options.stage_cache) {
                for (const auto& [path, recipe] : stages_to_make) {
                    options.stage_cache->stages[stage_keys.at(path)] = stages.at(path);
                }
            }
        }
        if (key_maker) {
            keys = key_maker->finish();
            key_maker.reset();
            save_cluster_keys(dir, keys);
            for (size_t i = 0; i < nodes.size(); ++i) {
                if (inputs[i].empty()) {
                    inputs[i] = node_inputs_of(i);
                }
            }
        }
        for (auto& job : jobs) {
            check_interrupted();
            const PlannedNode& planned = nodes[job.node];
            say(fmt::format("copying {} to {}", job.stage ? "the stage" : "the base image",
                            planned.image_name));
            progress.stage(planned.image_name, "copying");
            appliance.image_filled(job.drive, job.filled.get());
            say(fmt::format("{}: applying {}", planned.hostname,
                            job.stage ? "its own steps" : "the recipe"));
            progress.stage(planned.image_name, "applying", copy_weight);
            if (grow_bytes(job.recipe) > 0 && !job.stage) {
                appliance.grow_root(job.drive);
            }
            NodeContext node;
            node.hostname = planned.hostname;
            node.index = planned.index;
            node.ip = planned.address;
            node.cluster = spec.name;
            node.hosts = hosts;
            appliance.mount(job.drive);
            apply_steps_mounted(appliance, job.drive, job.recipe, job.steps, node, options.status);
            install_node_identity(appliance.fs(), spec, nodes, job.node, keys, state_dir(dir));
            clamp_to_source_date(appliance);
            appliance.unmount();
            if (job.identity) {
                say(fmt::format("{}: new disk identity", planned.hostname));
                apply_disk_identity(appliance, job.drive, *job.identity);
            } else {
                // Unmounting wrote the image back: it is final.
                job.sha256 = hashing
                                 .add([path = job.output->temp_path(), set = job.set_file,
                                       at = job.offset, size = job.size] {
                                     if (!set.empty()) {
                                         sparse_copy_range(set, at, size, path, 0);
                                         // Not needed any more: without reflinks, its
                                         // space is better free.
                                         punch_hole(set, at, size);
                                     }
                                     return sha256_file(path);
                                 })
                                 .share();
            }
            progress.stage(planned.image_name, "waiting", node_apply_weight(planned));
        }
        appliance.shutdown();
        hashing.help(); // both cores, now the appliance is gone
        result.backend = appliance.backend();
        result.launch_seconds += appliance.launch_seconds();

        for (auto& job : jobs) {
            check_interrupted();
            const PlannedNode& planned = nodes[job.node];
            if (job.identity) {
                write_disk_identity(job.output->temp_path(), appliance.partition_table(job.drive),
                                    *job.identity);
            }
            say(fmt::format("hashing {}", planned.image_name));
            progress.stage(planned.image_name, "hashing");
            ManifestEntry entry;
            entry.result.node = planned;
            entry.result.image = dir / planned.image_name;
            // First: an image of a set is in its own file once hashed.
            entry.result.sha256 =
                job.sha256.valid() ? job.sha256.get() : sha256_file(job.output->temp_path());
            entry.result.size = std::filesystem::file_size(job.output->temp_path());
            for (const auto& k : keys.hosts.at(planned.hostname).host_keys) {
                entry.result.host_key_fingerprints.push_back(k.fingerprint);
            }
            entry.inputs = inputs[job.node];
            // Renaming keeps the modification time, so it can be recorded first.
            entry.mtime_ns = mtime_ns(job.output->temp_path());
            entries[planned.image_name] = std::move(entry);
            write_manifest(false);
            job.output->commit();
            progress.stage(planned.image_name, "done", hash_weight);
        }
    }
    write_manifest(true);
    for (size_t i = 0; i < nodes.size(); ++i) {
        NodeResult r = entries.at(nodes[i].image_name).result;
        r.reused = !rebuilt[i];
        result.nodes.push_back(std::move(r));
    }
    result.total_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return result;
}

} // namespace pimint
