// Making an image from a recipe: copy the base image (sparse, reflinked where
// possible), grow it if the recipe asks, apply every step in one appliance session,
// and rename the result into place only when it is complete.
#pragma once

#include "pimint/core/files.hpp"
#include "pimint/image/appliance.hpp"
#include "pimint/recipe/recipe.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace pimint {

struct ApplyOptions {
    NodeContext node; // hostname/index/ip/cluster for placeholders; hosts in cluster mode
    StatusCallback status;
};

struct ApplyReport {
    std::string backend;
    double launch_seconds = 0;
    double total_seconds = 0;
    CopyStats copy;
    std::uint64_t grown_bytes = 0;
    std::vector<std::string> steps; // names, in the order applied
};

// Writes `out` from `base` and `recipe`. `base` is only read. Throws Error; on any
// error no file named `out` is created (an existing `out` is left as it was).
ApplyReport apply(const Recipe& recipe, const std::filesystem::path& base,
                  const std::filesystem::path& out, const ApplyOptions& options = {});

// Applies the recipe's steps to image `index` of a launched appliance (the image must
// already have been grown by the recipe's grow_bytes): mounts it, checks free space,
// runs every step, unmounts. `node` receives what steps decide (the host name).
void apply_steps(Appliance& appliance, int index, const Recipe& recipe, NodeContext& node,
                 const StatusCallback& status = {});
// The same for some of the recipe's steps (Recipe::split_for_nodes), on image `index`
// already mounted (Appliance::mount), which stays mounted for more edits. Every step
// still contributes to `node`, so later placeholders see the host name an earlier step set.
void apply_steps_mounted(Appliance& appliance, int index, const Recipe& recipe,
                         const std::vector<const Step*>& steps, NodeContext& node,
                         const StatusCallback& status = {});

// Total bytes the recipe grows the image by.
std::uint64_t grow_bytes(const Recipe& recipe);

// The plan for --dry-run: each step and the image paths it writes, one per line.
std::string describe_plan(const Recipe& recipe, const NodeContext& node,
                          const std::string& boot_mount = "/boot");

} // namespace pimint
