#include "recipe/step_registry.hpp"

#include "pimint/core/error.hpp"

#include <map>
#include <mutex>

namespace pimint {
namespace {

std::map<std::string, StepType>& registry() {
    static std::map<std::string, StepType> types;
    return types;
}

std::recursive_mutex& registry_mutex() {
    static std::recursive_mutex m;
    return m;
}

void ensure_builtins() {
    static std::once_flag once;
    std::call_once(once, [] { register_builtin_steps(); });
}

} // namespace

void register_step(const std::string& name, StepFactory factory, bool array) {
    std::lock_guard lock(registry_mutex());
    if (!registry().emplace(name, StepType{std::move(factory), array}).second) {
        throw Error(ErrorCategory::internal, name,
                    "a step type of this name is already registered");
    }
}

std::vector<std::string> registered_steps() {
    ensure_builtins();
    std::lock_guard lock(registry_mutex());
    std::vector<std::string> names;
    for (const auto& [name, type] : registry()) {
        names.push_back(name);
    }
    return names;
}

std::optional<StepType> find_step_type(const std::string& name) {
    ensure_builtins();
    std::lock_guard lock(registry_mutex());
    const auto it = registry().find(name);
    if (it == registry().end()) {
        return std::nullopt;
    }
    return it->second;
}

} // namespace pimint
