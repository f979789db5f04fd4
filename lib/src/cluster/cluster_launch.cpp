#include "cluster/cluster_launch.hpp"

#include "cluster/cluster_node.hpp"
#include "core/ipv4.hpp"
#include "core/output_lock.hpp"
#include "core/work_queue.hpp"
#include "image/disk_identity.hpp"
#include "image/disk_image_reader.hpp"
#include "image/drive_filler.hpp"
#include "image/qcow2_overlay.hpp"
#include "image/source_date.hpp"
#include "pimint/core/error.hpp"
#include "pimint/core/files.hpp"
#include "pimint/core/interrupt.hpp"
#include "pimint/recipe/apply.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <future>
#include <memory>
#include <optional>

namespace pimint {
namespace {

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
    bool overlay = false;         // a qcow2 overlay on the stage, not a copy of it
    // The image's SHA-256, computed on a host thread while the appliance edits the next
    // images; invalid when the image still changes after the appliance (disk identity).
    // An overlay's comes with the cluster map it was read with (DiskImageReader).
    struct Hashed {
        std::string sha256;
        std::string cluster_map;
    };
    std::shared_future<Hashed> sha256;
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

// An overlay on a stage made in this launch, not one kept from an earlier run (final
// already). Until the stage is made it names the stage's temporary file through qemu's
// options, read without the lock its writer holds (create_qcow2_overlay_on_unfinished):
// the appliance that makes the stage opens it too.
bool on_new_stage(const Job& job) {
    return job.overlay && job.source_ready.valid();
}

// The recipe for one node: its role's recipe with the user's --set values, then the
// node's planned name and address (which win).
Recipe node_recipe(const ClusterOptions& options, const ClusterSpec& spec,
                   const PlannedNode& node) {
    std::vector<std::string> sets = options.overrides;
    // Quoted, so that a name like "1" or "true" stays a string.
    sets.push_back(fmt::format("hostname.name=\"{}\"", node.hostname));
    if (spec.addressing != "dhcp") {
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
    }
    return Recipe::load(role_recipe_path(options, spec, node.role), sets);
}

// Fill, first: what each image of the batch is copied from (its stage, or the base image
// grown as its recipe asks) and what the appliance then applies to it.
std::vector<Job> plan_jobs(ClusterRun& run, std::span<const size_t> batch,
                           const StageBuild* stage_build) {
    const auto& options = run.options;
    std::vector<Job> jobs;
    for (const size_t index : batch) {
        const PlannedNode& node = run.plan.nodes[index];
        const auto role_recipe = role_recipe_path(options, run.plan.spec, node.role);
        Job job(index, node_recipe(options, run.plan.spec, node));
        job.steps = job.recipe.step_list();
        job.source = options.base;
        job.size = std::filesystem::file_size(options.base) + grow_bytes(job.recipe);
        if (const auto it = run.stages.stages.find(role_recipe); it != run.stages.stages.end()) {
            job.stage = it->second.get();
            const auto split = job.recipe.split_for_nodes();
            if (step_names(split.shared) != job.stage->shared_steps) {
                throw Error(ErrorCategory::internal, node.hostname,
                            "the node's recipe shares other steps than its stage");
            }
            job.steps = split.own;
            job.source = job.stage->file;
            job.size = std::filesystem::file_size(job.source);
            job.overlay = run.plan.layout == ImageLayout::overlay;
            if (stage_build && run.stages.to_make.contains(role_recipe)) {
                job.source_ready = stage_build->ready(role_recipe);
            }
        }
        job.output = std::make_unique<AtomicOutput>(options.output_dir / node.image_name);
        if (run.plan.spec.unique_disk_ids) {
            job.identity = new_disk_identity(run.disk_ids);
        }
        jobs.push_back(std::move(job));
    }
    return jobs;
}

// Fill, second: a pending drive for each job. Images copied from the same stage share
// drives (image sets: one drive costs the launch far more than a partition); the others,
// and those whose disk identity changes after the appliance, get a drive each. Returns
// the image sets' files, never committed.
std::vector<std::unique_ptr<AtomicOutput>> attach_drives(ClusterRun& run, Appliance& appliance,
                                                         std::vector<Job>& jobs) {
    std::vector<std::unique_ptr<AtomicOutput>> set_files;
    for (size_t j = 0; j < jobs.size();) {
        size_t end = j + 1;
        while (jobs[j].stage && !jobs[j].overlay && !run.plan.spec.unique_disk_ids &&
               end < jobs.size() && end - j < max_images_per_set &&
               jobs[end].stage == jobs[j].stage) {
            ++end;
        }
        if (end - j > 1) {
            set_files.push_back(std::make_unique<AtomicOutput>(
                run.options.output_dir / fmt::format("image-set-{}.img", set_files.size() + 1)));
            std::vector<std::filesystem::path> names;
            for (size_t m = j; m < end; ++m) {
                names.push_back(jobs[m].output->final_path());
            }
            const auto indexes = appliance.add_pending_image_set(set_files.back()->temp_path(),
                                                                 names, jobs[j].stage->file);
            for (size_t m = j; m < end; ++m) {
                jobs[m].drive = indexes[m - j];
                jobs[m].set_file = set_files.back()->temp_path();
                jobs[m].offset = appliance.image_offset(jobs[m].drive);
            }
        } else if (jobs[j].overlay) {
            Job& job = jobs[j];
            (on_new_stage(job) ? create_qcow2_overlay_on_unfinished : create_qcow2_overlay)(
                job.output->temp_path(), job.source, job.size, job.output->final_path());
            job.drive = appliance.add_overlay_image(job.output->temp_path(), job.source,
                                                    job.output->final_path());
        } else {
            Job& job = jobs[j];
            const std::filesystem::path file = job.output->temp_path();
            create_sparse_file(file, job.size);
            seed_partition_table(file, run.plan.base_first_sector, grow_bytes(job.recipe) > 0,
                                 job.output->final_path());
            job.drive = appliance.add_pending_image(file, job.output->final_path());
        }
        j = end;
    }
    return set_files;
}

// Fill, third: the copies, on the host while the appliance starts.
void start_fills(DriveFiller& filler, std::vector<Job>& jobs) {
    for (auto& job : jobs) {
        if (job.overlay) {
            continue; // nothing to copy
        }
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
             grow = grow_bytes(job.recipe) > 0 && !job.stage,
             name = job.output->final_path()] { copy_to_size(source, file, size, grow, name); },
            job.source_ready);
    }
    filler.start();
}

// The stages' shared steps, in the first launch; kept for later runs only once made.
void make_stages(ClusterRun& run, StageBuild& stage_build) {
    stage_build.apply(run.options.status,
                      [&](const std::filesystem::path& recipe, const std::string& what) {
                          const std::string label = "shared steps of " + recipe.filename().string();
                          if (what == "copying") {
                              run.progress.stage(label, "copying");
                          } else if (what == "applying") {
                              run.progress.stage(label, "applying", ProgressTracker::copy_weight);
                          } else {
                              run.progress.stage(label, "waiting", ProgressTracker::apply_weight);
                          }
                      });
    if (run.plan.layout == ImageLayout::overlay) {
        stage_build.commit_files();
        for (const auto& [path, recipe] : run.stages.to_make) {
            record_stage(run.rebuild.header, run.stages.keys.at(path), *run.stages.stages.at(path));
        }
        write_manifest(run.options.output_dir, run.plan, run.rebuild, false);
    }
    if (run.options.stage_cache) {
        for (const auto& [path, recipe] : run.stages.to_make) {
            run.options.stage_cache->stages[run.stages.keys.at(path)] = run.stages.stages.at(path);
        }
    }
}

// Keys: the ones made while the appliance started, saved; now every node's inputs are
// known.
void finish_keys(ClusterRun& run) {
    if (!run.keys.maker) {
        return;
    }
    run.keys.keys = run.keys.maker->finish();
    run.keys.maker.reset();
    save_cluster_keys(run.options.output_dir, run.keys.keys);
    for (size_t i = 0; i < run.plan.nodes.size(); ++i) {
        if (run.rebuild.inputs[i].empty()) {
            run.rebuild.inputs[i] = node_inputs(run.plan, run.rebuild, run.keys.keys, i);
        }
    }
}

// Node steps: each image's own steps (or the whole recipe), its identity and keys. An
// image is final once unmounted, unless its disk identity changes later: it is hashed
// then, on `hashing`, while the appliance edits the next.
void apply_node_steps(ClusterRun& run, Appliance& appliance, std::vector<Job>& jobs,
                      WorkQueue& hashing) {
    for (auto& job : jobs) {
        check_interrupted();
        const PlannedNode& planned = run.plan.nodes[job.node];
        run.say(fmt::format("copying {} to {}", job.stage ? "the stage" : "the base image",
                            planned.image_name));
        run.progress.stage(planned.image_name, "copying");
        if (!job.overlay) {
            appliance.image_filled(job.drive, job.filled.get());
        }
        run.say(fmt::format("{}: applying {}", planned.hostname,
                            job.stage ? "its own steps" : "the recipe"));
        run.progress.stage(planned.image_name, "applying", ProgressTracker::copy_weight);
        if (grow_bytes(job.recipe) > 0 && !job.stage) {
            appliance.grow_root(job.drive);
        }
        NodeContext node;
        node.hostname = planned.hostname;
        node.index = planned.index;
        node.ip = planned.address;
        node.cluster = run.plan.spec.name;
        node.hosts = run.hosts;
        appliance.mount(job.drive);
        apply_steps_mounted(appliance, job.drive, job.recipe, job.steps, node, run.options.status);
        install_node_identity(appliance.fs(), run.plan.spec, run.plan.nodes, job.node,
                              run.keys.keys, state_dir(run.options.output_dir));
        clamp_to_source_date(appliance);
        appliance.unmount();
        if (job.identity) {
            run.say(fmt::format("{}: new disk identity", planned.hostname));
            apply_disk_identity(appliance, job.drive, *job.identity);
        } else {
            job.sha256 =
                hashing
                    .add([path = job.output->temp_path(), set = job.set_file, at = job.offset,
                          size = job.size, overlay = job.overlay, stage = job.source] {
                        if (overlay) {
                            // The full image it stands for, as the manifest
                            // records it in either layout; its header may
                            // still name the stage by its temporary file.
                            const auto disk = DiskImageReader::open(path, stage);
                            return Job::Hashed{sha256_disk(*disk), disk->cluster_map()};
                        }
                        if (!set.empty()) {
                            sparse_copy_range(set, at, size, path, 0);
                            // Not needed any more: without reflinks, its space
                            // is better free.
                            punch_hole(set, at, size);
                        }
                        return Job::Hashed{sha256_file(path), {}};
                    })
                    .share();
        }
        run.progress.stage(planned.image_name, "waiting", run.apply_weight_of(planned));
    }
}

// Copy-out and hash: each image enters the manifest just before it is renamed into
// place, so that every image under its final name is complete and listed.
void copy_out_and_hash(ClusterRun& run, Appliance& appliance, std::vector<Job>& jobs) {
    for (auto& job : jobs) {
        check_interrupted();
        const PlannedNode& planned = run.plan.nodes[job.node];
        if (job.identity) {
            write_disk_identity(job.output->temp_path(), appliance.partition_table(job.drive),
                                *job.identity);
        }
        run.say(fmt::format("hashing {}", planned.image_name));
        run.progress.stage(planned.image_name, "hashing");
        ManifestEntry entry;
        entry.result.node = planned;
        entry.result.image = run.options.output_dir / planned.image_name;
        // First: an image of a set is in its own file once hashed.
        entry.result.sha256 =
            job.sha256.valid() ? job.sha256.get().sha256 : sha256_file(job.output->temp_path());
        if (job.overlay && job.sha256.valid()) {
            // Hashed while qemu ran, it may have read cluster tables qemu had not yet
            // written back; now it has stopped, they are final.
            const auto disk = DiskImageReader::open(job.output->temp_path());
            if (disk->cluster_map() != job.sha256.get().cluster_map) {
                run.say(fmt::format("hashing {} again: qemu wrote its tables back since",
                                    planned.image_name));
                entry.result.sha256 = sha256_disk(*disk);
            }
        }
        // Of the full image: an overlay's is its stage's.
        entry.result.size =
            job.overlay ? job.size : std::filesystem::file_size(job.output->temp_path());
        if (job.overlay) {
            entry.result.overlay_sha256 = sha256_file(job.output->temp_path());
            entry.result.backing = job.source.filename().string();
            entry.overlay_size = std::filesystem::file_size(job.output->temp_path());
            entry.backing_mtime_ns = mtime_ns(job.source);
        }
        for (const auto& k : run.keys.keys.hosts.at(planned.hostname).host_keys) {
            entry.result.host_key_fingerprints.push_back(k.fingerprint);
        }
        entry.inputs = run.rebuild.inputs[job.node];
        // Renaming keeps the modification time, so it can be recorded first.
        entry.mtime_ns = mtime_ns(job.output->temp_path());
        run.rebuild.entries[planned.image_name] = std::move(entry);
        write_manifest(run.options.output_dir, run.plan, run.rebuild, false);
        job.output->commit();
        run.progress.stage(planned.image_name, "done", ProgressTracker::hash_weight);
    }
}

} // namespace

ProgressTracker::ProgressTracker(const ProgressCallback& sink, size_t total, size_t todo,
                                 double units)
    : sink_(sink)
    , total_(total)
    , done_(total - todo)
    , units_(units) {}

void ProgressTracker::stage(const std::string& image, const std::string& name,
                            double finished_units) {
    units_done_ += finished_units;
    if (name == "done") {
        ++done_;
    }
    if (sink_) {
        sink_({image, name, done_, total_, units_ > 0 ? std::min(1.0, units_done_ / units_) : 1});
    }
}

double ClusterRun::apply_weight_of(const PlannedNode& n) const {
    return stages.staged.contains(role_recipe_path(options, plan.spec, n.role))
               ? ProgressTracker::own_steps_weight
               : ProgressTracker::apply_weight;
}

double work_units(const ClusterOptions& options, const RunPlan& plan, const RebuildPlan& rebuild,
                  const StagePlan& stages, size_t batch_size) {
    const size_t batches = (rebuild.todo.size() + batch_size - 1) / batch_size;
    double units = static_cast<double>(batches) * ProgressTracker::launch_weight;
    for (const size_t i : rebuild.todo) {
        const bool staged =
            stages.staged.contains(role_recipe_path(options, plan.spec, plan.nodes[i].role));
        units += ProgressTracker::copy_weight + ProgressTracker::hash_weight +
                 (staged ? ProgressTracker::own_steps_weight : ProgressTracker::apply_weight);
    }
    // Stages are made in the first launch.
    return units + static_cast<double>(stages.to_make.size()) *
                       (ProgressTracker::copy_weight + ProgressTracker::apply_weight);
}

void run_launch(ClusterRun& run, std::span<const size_t> batch, bool first) {
    Appliance appliance(run.options.status);
    std::vector<Job> jobs;
    std::vector<std::unique_ptr<AtomicOutput>> set_files;
    // Declared after the jobs, so that when a run fails they stop (after the copy and the
    // hash under way) before the jobs' temporary files are removed.
    DriveFiller filler;
    // Each image's SHA-256 is computed as soon as it is final, on the core the emulated
    // appliance leaves free.
    WorkQueue hashing(1);
    // The stages are made in the first launch, before its nodes.
    std::optional<StageBuild> stage_build;
    if (first && !run.stages.to_make.empty()) {
        stage_build.emplace(appliance, filler, run.options.base, run.options.output_dir,
                            run.stages.to_make, run.stages.files);
        for (const auto& [path, recipe] : run.stages.to_make) {
            run.stages.stages[path] = stage_build->stage(path);
        }
    }
    jobs = plan_jobs(run, batch, stage_build ? &*stage_build : nullptr);
    set_files = attach_drives(run, appliance, jobs);
    start_fills(filler, jobs);
    run.progress.stage("", "starting the appliance");
    appliance.launch();
    run.progress.stage("", "appliance running", ProgressTracker::launch_weight);
    if (stage_build) {
        make_stages(run, *stage_build);
    }
    for (auto& job : jobs) {
        if (on_new_stage(job)) {
            job.source = job.stage->file; // committed under its final name
            appliance.overlay_backing_final(job.drive, job.source);
        }
    }
    finish_keys(run);
    apply_node_steps(run, appliance, jobs, hashing);
    appliance.shutdown();
    hashing.help(); // both cores, now the appliance is gone
    for (auto& job : jobs) {
        if (on_new_stage(job)) {
            name_qcow2_backing(job.output->temp_path(), job.source, job.output->final_path());
        }
    }
    run.result.backend = appliance.backend();
    run.result.launch_seconds += appliance.launch_seconds();
    copy_out_and_hash(run, appliance, jobs);
}

} // namespace pimint
