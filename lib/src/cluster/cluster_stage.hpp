// The shared stage of a cluster run. Most of a recipe (locale, keyboard, SSH, MPICH...)
// edits every node the same way; applying it to each node costs the same appliance work
// N times. Instead, each role recipe with several images to make is applied once, for
// its shared steps (Recipe::split_for_nodes), to a copy of the base image: the stage.
// Node images are copied from their stage and get only their own steps (name, address,
// keys). Stages and nodes are made in one appliance launch. A classroom's clusters differ only
// in their [cluster] values, so they share their stages through a StageCache.
#pragma once

#include "image/drive_filler.hpp"
#include "pimint/core/files.hpp"
#include "pimint/image/appliance.hpp"
#include "pimint/recipe/recipe.hpp"

#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace pimint {

struct Stage {
    // Under a temporary name in the output directory. With the full layout never
    // committed: it goes with the run (or the StageCache that keeps it), and a killed
    // run's stage is a stale temporary for the next one. With the overlay layout
    // committed once made, as the directory's stage file; null for a stage kept from an
    // earlier run.
    std::unique_ptr<AtomicOutput> image;
    std::filesystem::path file;            // what node images copy, or overlays read through
    std::vector<std::string> shared_steps; // names, to check each node recipe against
    std::string sha256;                    // the overlay layout's stage file's
};

// Stages kept across build_cluster calls, by stage_key.
class StageCache {
public:
    std::map<std::string, std::shared_ptr<const Stage>> stages;
};

// What a stage is made from: the base image, the recipe's steps (not its cluster
// values), SOURCE_DATE_EPOCH and the pimint version.
std::string stage_key(const std::string& base_sha256, const Recipe& recipe);

// Stages being made in an appliance launch that also makes node images: each stage is
// a pending drive, filled by the DriveFiller with a copy of the base image (grown as its
// recipe asks) while the appliance starts. The node images copied from a stage are
// pending drives of the same launch, filled once the stage is ready(): one launch for
// the stages and the nodes, not one each.
class StageBuild {
public:
    // `recipes`: role recipe path → the recipe loaded with the run's --set values. Kept
    // by reference, as are `appliance` and `filler`.
    // `final_files`: the overlay layout's stage file of each recipe; empty with the full
    // layout, whose stages have no final name.
    StageBuild(Appliance& appliance, DriveFiller& filler, const std::filesystem::path& base,
               const std::filesystem::path& output_dir,
               const std::map<std::filesystem::path, Recipe>& recipes,
               const std::map<std::filesystem::path, std::filesystem::path>& final_files);

    // The stage made for `recipe`; its file has its final size from the start.
    std::shared_ptr<const Stage> stage(const std::filesystem::path& recipe) const;
    // Ready when the stage for `recipe` is final: a copy of it may start.
    std::shared_future<void> ready(const std::filesystem::path& recipe) const;

    // After the launch: applies each stage's shared steps. `on_stage` is told each
    // stage's progress ("copying", "applying", "done").
    using Progress =
        std::function<void(const std::filesystem::path& recipe, const std::string& stage)>;
    void apply(const StatusCallback& status, const Progress& on_stage);
    // After apply(), for the stages with a final file: hashes each and renames it into
    // place, where the overlays made next read through it.
    void commit_files();

private:
    struct Making {
        std::shared_ptr<Stage> stage;
        int drive = 0;
        std::shared_future<DriveFiller::Clock::time_point> filled;
        std::promise<void> done;
        std::shared_future<void> ready;
        bool named = false; // has a final file
    };
    Appliance& appliance_;
    const std::map<std::filesystem::path, Recipe>& recipes_;
    std::map<std::filesystem::path, Making> making_;
};

// Writes into `image`, a new pending drive of its final size, the partition table it will
// hold once filled with a copy of the image whose first sector is `base_first_sector`
// (and, when `grown`, its root partition extended to the end of the file). Filled after
// the launch, the drive then needs no re-read of its partitions
// (Appliance::image_filled). Errors name it by `name`.
void seed_partition_table(const std::filesystem::path& image, const std::string& base_first_sector,
                          bool grown, const std::filesystem::path& name);

// Fills a pending drive's `file`: a copy of `source` at `size` bytes, its root partition
// extended to the end when `extend_root` (the copy of a base image that grows). Errors
// name it by `name`.
void copy_to_size(const std::filesystem::path& source, const std::filesystem::path& file,
                  std::uintmax_t size, bool extend_root, const std::filesystem::path& name);

// Fills a pending drive that holds its final partition table (seed_partition_table) with
// the rest of a copy of `source`: its first sector is never rewritten, so a kernel reading
// the table through it at any moment (an overlay on it, when the appliance boots) reads
// the final one.
void fill_below_seeded_table(const std::filesystem::path& source,
                             const std::filesystem::path& file);

// The names of a list of steps.
std::vector<std::string> step_names(const std::vector<const Step*>& steps);

} // namespace pimint
