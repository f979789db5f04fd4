// A recipe: a TOML file saying what a Raspberry Pi image should be. Loading parses,
// merges includes, applies --set overrides and builds every step, so all errors (with
// file:line:col) come before any image is touched.
#pragma once

#include "pimint/recipe/step.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace pimint {

class Recipe {
public:
    // `overrides` are "table.key=value" strings (--set); a value that parses as TOML
    // (true, 3, "x", ["a"]) is taken as such, anything else as a string.
    static Recipe load(const std::filesystem::path& path,
                       const std::vector<std::string>& overrides = {});

    const std::filesystem::path& path() const noexcept { return path_; }
    // Steps in application order: steps that resize the image first, then recipe order
    // (included files where they are included).
    const std::vector<std::unique_ptr<Step>>& steps() const noexcept { return steps_; }
    // The same steps as plain pointers, for apply_steps_mounted().
    std::vector<const Step*> step_list() const;
    // Every recipe file read, the top one first, then includes in the order read.
    const std::vector<std::filesystem::path>& files() const noexcept { return files_; }
    // SHA-256 over everything the result depends on outside the image: the recipe files,
    // the --set values and the host files steps read (MPICH source, [[files]] sources).
    // Equal fingerprints on the same base image give the same edits.
    std::string fingerprint() const;
    // The same without the --set cluster.* values: they name and address a cluster's
    // nodes but change no step, so clusters that differ only there share their stage.
    std::string steps_fingerprint() const;

    // For many nodes made from one recipe (pimint cluster): `shared` are the steps that
    // give every node the same edit, which can be applied once to an image the nodes are
    // then copied from; `own` are the rest, applied to each copy afterwards. A step is a
    // node's own when it reads the node (hostname, network) or one of its values holds a
    // placeholder; a step that may write any path ([[files]]) and comes after such a step
    // is kept after it, so no two writes to one file change order. Both lists keep the
    // order of steps().
    struct NodeSplit {
        std::vector<const Step*> shared;
        std::vector<const Step*> own;
    };
    NodeSplit split_for_nodes() const;

    Recipe(Recipe&&) noexcept;
    Recipe& operator=(Recipe&&) noexcept;
    ~Recipe();

private:
    Recipe() = default;
    std::string fingerprint_of(bool cluster_overrides) const;
    std::filesystem::path path_;
    std::vector<std::filesystem::path> files_;
    std::vector<std::string> overrides_;
    std::vector<std::unique_ptr<Step>> steps_;
    std::vector<const Step*> with_placeholders_;
};

} // namespace pimint
