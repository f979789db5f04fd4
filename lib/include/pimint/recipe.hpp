// A recipe: a TOML file saying what a Raspberry Pi image should be. Loading parses,
// merges includes, applies --set overrides and builds every step, so all errors (with
// file:line:col) come before any image is touched.
#pragma once

#include "pimint/step.hpp"

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
    // Every recipe file read, the top one first, then includes in the order read.
    const std::vector<std::filesystem::path>& files() const noexcept { return files_; }
    // SHA-256 over everything the result depends on outside the image: the recipe files,
    // the --set values and the host files steps read (MPICH source, [[files]] sources).
    // Equal fingerprints on the same base image give the same edits.
    std::string fingerprint() const;

    Recipe(Recipe&&) noexcept;
    Recipe& operator=(Recipe&&) noexcept;
    ~Recipe();

private:
    Recipe() = default;
    std::filesystem::path path_;
    std::vector<std::filesystem::path> files_;
    std::vector<std::string> overrides_;
    std::vector<std::unique_ptr<Step>> steps_;
};

} // namespace pimint
