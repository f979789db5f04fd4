// The table of step types known to recipes.
#pragma once

#include "pimint/recipe/step.hpp"

#include <optional>

namespace pimint {

struct StepType {
    StepFactory factory;
    bool array = false;
};

std::optional<StepType> find_step_type(const std::string& name);

// Adds pimint's own steps (defined in lib/src/steps/); called once by the registry.
void register_builtin_steps();

} // namespace pimint
