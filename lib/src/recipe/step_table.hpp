// The toml++-backed inside of StepTable, shared by the recipe loader.
#pragma once

#include "pimint/recipe/step.hpp"

#include <set>
#include <toml++/toml.h>
#include <vector>

namespace pimint {

SourceLocation location_of(const toml::source_region& region, const std::string& fallback_file);

struct StepTable::Impl {
    std::string name;
    // The tables that make up this step's table, in order: one per file that writes
    // [name] (includes first) and one per --set; a later table's key wins.
    std::vector<const toml::table*> parts;
    SourceLocation where; // the first table's header
    std::set<std::string, std::less<>> known;
    bool placeholders = false; // a Template read so far holds one

    // Records `key` as one the step reads, and returns its value (nullptr when absent).
    const toml::node* read(std::string_view key) {
        known.emplace(key);
        return get(key);
    }

    const toml::node* get(std::string_view key) const {
        for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
            if (const toml::node* node = (*it)->get(key)) {
                return node;
            }
        }
        return nullptr;
    }
};

} // namespace pimint
