#include "cluster/cluster_stage.hpp"

#include "image/source_date.hpp"
#include "pimint/core/interrupt.hpp"
#include "pimint/core/version.hpp"
#include "pimint/image/partition_table.hpp"
#include "pimint/recipe/apply.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace pimint {

std::vector<std::string> step_names(const std::vector<const Step*>& steps) {
    std::vector<std::string> names;
    for (const Step* s : steps) {
        names.emplace_back(s->name());
    }
    return names;
}

void seed_partition_table(const std::filesystem::path& image, const std::string& base_first_sector,
                          bool grown, const std::filesystem::path& name) {
    write_first_sector(image, base_first_sector, name);
    if (grown) {
        extend_root_partition(image, name);
    }
}

void copy_to_size(const std::filesystem::path& source, const std::filesystem::path& file,
                  std::uintmax_t size, bool extend_root, const std::filesystem::path& name) {
    sparse_copy(source, file);
    std::filesystem::resize_file(file, size);
    if (extend_root) {
        extend_root_partition(file, name);
    }
}

void fill_below_seeded_table(const std::filesystem::path& source,
                             const std::filesystem::path& file) {
    // From the first block on as one range, which a filesystem with reflinks can share.
    constexpr std::uint64_t block = 4096;
    const std::uint64_t n = std::filesystem::file_size(source);
    sparse_copy_range(source, sector_size, std::min(n, block) - sector_size, file, sector_size);
    if (n > block) {
        sparse_copy_range(source, block, n - block, file, block);
    }
}

std::string stage_key(const std::string& base_sha256, const Recipe& recipe) {
    const auto epoch = source_date_epoch();
    return sha256_text(fmt::format("pimint {}\nbase {}\nsteps {}\ndate {}\n", version(),
                                   base_sha256, recipe.steps_fingerprint(),
                                   epoch ? std::to_string(*epoch) : "clock"));
}

StageBuild::StageBuild(Appliance& appliance, DriveFiller& filler, const std::filesystem::path& base,
                       const std::filesystem::path& output_dir,
                       const std::map<std::filesystem::path, Recipe>& recipes,
                       const std::map<std::filesystem::path, std::filesystem::path>& final_files)
    : appliance_(appliance)
    , recipes_(recipes) {
    int n = 0;
    for (const auto& [path, recipe] : recipes) {
        Making& m = making_[path];
        m.stage = std::make_shared<Stage>();
        const auto named = final_files.find(path);
        m.stage->image = std::make_unique<AtomicOutput>(
            named != final_files.end() ? named->second
                                       : output_dir / fmt::format("stage-{}.img", ++n));
        m.stage->shared_steps = step_names(recipe.split_for_nodes().shared);
        const std::filesystem::path file = m.stage->image->temp_path();
        m.stage->file = file;
        m.named = named != final_files.end();
        const std::uintmax_t size = std::filesystem::file_size(base) + grow_bytes(recipe);
        create_sparse_file(file, size);
        const bool grown = grow_bytes(recipe) > 0;
        seed_partition_table(file, read_first_sector(base), grown, base);
        // Errors name the base image: the stage is never a file the user sees.
        m.drive = appliance.add_pending_image(file, base);
        m.filled = filler.add([base, file] { fill_below_seeded_table(base, file); });
        m.ready = m.done.get_future().share();
    }
}

std::shared_ptr<const Stage> StageBuild::stage(const std::filesystem::path& recipe) const {
    return making_.at(recipe).stage;
}

std::shared_future<void> StageBuild::ready(const std::filesystem::path& recipe) const {
    return making_.at(recipe).ready;
}

void StageBuild::apply(const StatusCallback& status, const Progress& on_stage) {
    const auto say = [&](const std::string& m) {
        if (status) {
            status(m);
        }
    };
    for (auto& [path, m] : making_) {
        const Recipe& recipe = recipes_.at(path);
        check_interrupted();
        on_stage(path, "copying");
        say(fmt::format("copying the base image for the steps shared by {}'s nodes",
                        path.filename().string()));
        appliance_.image_filled(m.drive, m.filled.get());
        on_stage(path, "applying");
        say(fmt::format("applying the steps shared by {}'s nodes", path.filename().string()));
        if (grow_bytes(recipe) > 0) {
            appliance_.grow_root(m.drive);
        }
        NodeContext node;
        appliance_.mount(m.drive);
        apply_steps_mounted(appliance_, m.drive, recipe, recipe.split_for_nodes().shared, node,
                            status);
        // Dated here once, the stage's files (MPICH's thousands) need no dating per node.
        clamp_to_source_date(appliance_);
        // Unmounting writes the stage back: its file is final for the copies.
        appliance_.unmount();
        m.done.set_value();
        on_stage(path, "done");
    }
}

void StageBuild::commit_files() {
    for (auto& [path, m] : making_) {
        if (m.named) {
            m.stage->sha256 = sha256_file(m.stage->file);
            m.stage->image->commit();
            m.stage->file = m.stage->image->final_path();
        }
    }
}

} // namespace pimint
