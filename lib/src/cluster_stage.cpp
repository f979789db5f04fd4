#include "cluster_stage.hpp"

#include "pimint/apply.hpp"
#include "pimint/interrupt.hpp"
#include "pimint/version.hpp"
#include "source_date.hpp"

#include <fmt/format.h>

namespace pimint {

std::vector<std::string> step_names(const std::vector<const Step*>& steps) {
    std::vector<std::string> names;
    for (const Step* s : steps) {
        names.emplace_back(s->name());
    }
    return names;
}

std::string stage_key(const std::string& base_sha256, const Recipe& recipe) {
    const auto epoch = source_date_epoch();
    return sha256_text(fmt::format("pimint {}\nbase {}\nsteps {}\ndate {}\n", version(),
                                   base_sha256, recipe.steps_fingerprint(),
                                   epoch ? std::to_string(*epoch) : "clock"));
}

std::map<std::filesystem::path, std::shared_ptr<const Stage>>
build_stages(const std::filesystem::path& base, const std::filesystem::path& output_dir,
             const std::map<std::filesystem::path, Recipe>& recipes,
             const StatusCallback& status, const StageProgress& on_stage) {
    const auto say = [&](const std::string& m) {
        if (status) {
            status(m);
        }
    };
    std::map<std::filesystem::path, std::shared_ptr<const Stage>> stages;
    if (recipes.empty()) {
        return stages;
    }
    Appliance appliance(status);
    std::map<std::filesystem::path, int> drives;
    int n = 0;
    for (const auto& [path, recipe] : recipes) {
        check_interrupted();
        on_stage(path, "copying");
        say(fmt::format("copying the base image for the steps shared by {}'s nodes",
                        path.filename().string()));
        auto stage = std::make_shared<Stage>();
        stage->image =
            std::make_unique<AtomicOutput>(output_dir / fmt::format("stage-{}.img", ++n));
        sparse_copy(base, stage->image->temp_path());
        if (const auto grow = grow_bytes(recipe); grow > 0) {
            std::filesystem::resize_file(stage->image->temp_path(),
                                         std::filesystem::file_size(stage->image->temp_path()) +
                                             grow);
        }
        // Errors name the base image: the stage is never a file the user sees.
        drives[path] = appliance.add_image(stage->image->temp_path(), Access::read_write, base);
        stage->shared_steps = step_names(recipe.split_for_nodes().shared);
        stages.emplace(path, std::move(stage));
    }
    appliance.launch();
    for (const auto& [path, recipe] : recipes) {
        on_stage(path, "applying");
        say(fmt::format("applying the steps shared by {}'s nodes", path.filename().string()));
        const int drive = drives.at(path);
        if (grow_bytes(recipe) > 0) {
            appliance.grow_root(drive);
        }
        NodeContext node;
        appliance.mount(drive);
        apply_steps_mounted(appliance, drive, recipe, recipe.split_for_nodes().shared, node,
                            status);
        // Dated here once, the stage's files (MPICH's thousands) need no dating per node.
        clamp_to_source_date(appliance);
        appliance.unmount();
        on_stage(path, "done");
    }
    appliance.shutdown();
    return stages;
}

} // namespace pimint
