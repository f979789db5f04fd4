#include "pimint/recipe/recipe.hpp"

#include "core/did_you_mean.hpp"
#include "pimint/core/error.hpp"
#include "pimint/core/files.hpp"
#include "recipe/step_registry.hpp"
#include "recipe/step_table.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <list>

namespace pimint {
namespace {

// One step type's tables, in the position where the type first appeared. Plain steps
// collect one table per file (and per --set) that writes them, merged key by key;
// array steps ([[files]]) collect one table per entry, each its own step.
struct Entry {
    std::string name;
    std::vector<const toml::table*> tables;
};

// The parsed documents; the entries point into them while the steps are built.
using Documents = std::list<toml::table>;

SourceLocation where(const toml::node& node, const std::filesystem::path& file) {
    return location_of(node.source(), file.string());
}

[[noreturn]] void fail_at(const SourceLocation& loc, const std::string& message) {
    throw Error(ErrorCategory::recipe, loc.str(), message);
}

Entry& entry_for(std::vector<Entry>& entries, const std::string& name) {
    const auto it = std::find_if(entries.begin(), entries.end(),
                                 [&](const Entry& e) { return e.name == name; });
    if (it != entries.end()) {
        return *it;
    }
    entries.push_back({name, {}});
    return entries.back();
}

const toml::table& parse_file(const std::filesystem::path& path, Documents& docs) {
    try {
        return docs.emplace_back(toml::parse_file(path.string()));
    } catch (const toml::parse_error& e) {
        fail_at(location_of(e.source(), path.string()), std::string(e.description()));
    }
}

void add_tables(std::vector<Entry>& entries, const std::string& name, const toml::node& value,
                const StepType& type, const std::filesystem::path& file) {
    Entry& entry = entry_for(entries, name);
    if (type.array) {
        const toml::array* array = value.as_array();
        if (array == nullptr || !array->is_array_of_tables()) {
            fail_at(where(value, file),
                    fmt::format("'{}' is written as [[{}]] tables, one per entry", name, name));
        }
        for (const auto& element : *array) {
            entry.tables.push_back(element.as_table());
        }
    } else {
        if (!value.is_table()) {
            fail_at(
                where(value, file),
                fmt::format("'{}' must be a table: write [{}] and its keys below it", name, name));
        }
        entry.tables.push_back(value.as_table());
    }
}

void load_into(const std::filesystem::path& path, std::vector<std::filesystem::path>& stack,
               Documents& docs, std::vector<Entry>& entries,
               std::vector<std::filesystem::path>& loaded) {
    const toml::table& doc = parse_file(path, docs);
    loaded.push_back(path);
    if (const toml::node* includes = doc.get("include")) {
        const toml::array* list = includes->as_array();
        if (list == nullptr) {
            fail_at(where(*includes, path),
                    "include must be an array of file names: include = [\"common.toml\"]");
        }
        for (const auto& item : *list) {
            if (!item.is_string()) {
                fail_at(where(item, path), "include lists file names (strings)");
            }
            const std::filesystem::path target =
                path.parent_path() / std::string(**item.as_string());
            std::error_code ec;
            const auto canonical = std::filesystem::canonical(target, ec);
            if (ec || !std::filesystem::is_regular_file(canonical)) {
                fail_at(where(item, path),
                        fmt::format("included file {} does not exist", target.string()));
            }
            if (std::find(stack.begin(), stack.end(), canonical) != stack.end()) {
                fail_at(
                    where(item, path),
                    fmt::format(
                        "include cycle: {} is already being included; remove one of the includes",
                        canonical.string()));
            }
            stack.push_back(canonical);
            load_into(canonical, stack, docs, entries, loaded);
            stack.pop_back();
        }
    }
    // toml++ keeps keys sorted; steps run in the order they are written.
    std::vector<std::pair<std::string, const toml::node*>> tables;
    for (const auto& [key, value] : doc) {
        if (key.str() != "include") {
            tables.emplace_back(std::string(key.str()), &value);
        }
    }
    std::sort(tables.begin(), tables.end(), [](const auto& a, const auto& b) {
        return a.second->source().begin < b.second->source().begin;
    });
    for (const auto& [name, value] : tables) {
        const auto type = find_step_type(name);
        if (!type) {
            fail_at(where(*value, path), fmt::format("unknown table [{}]{}", name,
                                                     did_you_mean(name, registered_steps())));
        }
        add_tables(entries, name, *value, *type, path);
    }
}

// `text` as a TOML basic string.
std::string quoted(const std::string& text) {
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        if (static_cast<unsigned char>(c) < 0x20) {
            out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
            out += c;
        }
    }
    return out + "\"";
}

void apply_override(std::vector<Entry>& entries, Documents& docs, const std::string& text) {
    // Errors name the argument by its key only: values may be passwords.
    const std::string named = "--set " + text.substr(0, text.find('='));
    const SourceLocation cli{named, 0, 0};
    const auto eq = text.find('=');
    const auto dot = text.find('.');
    if (eq == std::string::npos || dot == std::string::npos || dot > eq) {
        fail_at(cli, "expected table.key=value, for example --set wifi.country=FR");
    }
    const std::string table = text.substr(0, dot);
    const std::string key = text.substr(dot + 1, eq - dot - 1);
    const std::string value = text.substr(eq + 1);
    const auto type = find_step_type(table);
    if (!type) {
        fail_at(cli, fmt::format("unknown table '{}'{}", table,
                                 did_you_mean(table, registered_steps())));
    }
    if (type->array) {
        fail_at(cli,
                fmt::format("[[{}]] entries cannot be set from the command line; edit the recipe",
                            table));
    }
    if (key.empty() || key.find_first_of(". \t\"") != std::string::npos) {
        fail_at(cli, "expected table.key=value with a plain key");
    }
    toml::table parsed;
    try {
        parsed = toml::parse(key + " = " + value, named);
    } catch (const toml::parse_error&) {
        try {
            parsed = toml::parse(key + " = " + quoted(value), named); // not TOML: the plain string
        } catch (const toml::parse_error& e) {
            fail_at(cli, "the value cannot be read: " + std::string(e.description()));
        }
    }
    entry_for(entries, table).tables.push_back(&docs.emplace_back(std::move(parsed)));
}

} // namespace

Recipe::Recipe(Recipe&&) noexcept = default;
Recipe& Recipe::operator=(Recipe&&) noexcept = default;
Recipe::~Recipe() = default;

Recipe Recipe::load(const std::filesystem::path& path, const std::vector<std::string>& overrides) {
    std::error_code ec;
    const auto canonical = std::filesystem::canonical(path, ec);
    if (ec || !std::filesystem::is_regular_file(canonical)) {
        throw Error(ErrorCategory::recipe, path.string(), "no such recipe file; check the path");
    }
    Documents docs;
    std::vector<Entry> entries;
    std::vector<std::filesystem::path> stack{canonical};
    std::vector<std::filesystem::path> loaded;
    load_into(canonical, stack, docs, entries, loaded);
    for (const auto& o : overrides) {
        apply_override(entries, docs, o);
    }

    Recipe recipe;
    recipe.path_ = canonical;
    recipe.files_ = std::move(loaded);
    recipe.overrides_ = overrides;
    for (const auto& entry : entries) {
        const StepType type = *find_step_type(entry.name);
        // A plain step is one step from all its tables; an array step one per table.
        std::vector<std::vector<const toml::table*>> groups;
        if (type.array) {
            for (const auto* t : entry.tables) {
                groups.push_back({t});
            }
        } else {
            groups.push_back(entry.tables);
        }
        for (const auto& group : groups) {
            auto impl = std::make_unique<StepTable::Impl>();
            impl->name = entry.name;
            impl->parts = group;
            impl->where = location_of(group.front()->source(), canonical.string());
            StepTable step_table(std::move(impl));
            std::unique_ptr<Step> step;
            try {
                step = type.factory(step_table);
            } catch (const Error&) {
                step_table.report_misspelled_key();
                throw;
            }
            step_table.finish();
            if (step_table.has_placeholders()) {
                recipe.with_placeholders_.push_back(step.get());
            }
            recipe.steps_.push_back(std::move(step));
        }
    }
    std::stable_partition(recipe.steps_.begin(), recipe.steps_.end(),
                          [](const std::unique_ptr<Step>& s) { return s->grow_bytes() > 0; });
    return recipe;
}

std::vector<const Step*> Recipe::step_list() const {
    std::vector<const Step*> list;
    for (const auto& step : steps_) {
        list.push_back(step.get());
    }
    return list;
}

Recipe::NodeSplit Recipe::split_for_nodes() const {
    NodeSplit split;
    // Set once a step that may write any path is kept per node: every later step may
    // write that path too, so it stays after it.
    bool barrier = false;
    for (const auto& step : steps_) {
        const bool placeholders = std::find(with_placeholders_.begin(), with_placeholders_.end(),
                                            step.get()) != with_placeholders_.end();
        const bool own = barrier || step->reads_node() || placeholders ||
                         (!split.own.empty() && !step->writes_own_files());
        barrier = barrier || (own && !step->writes_own_files());
        (own ? split.own : split.shared).push_back(step.get());
    }
    return split;
}

std::string Recipe::fingerprint() const {
    return fingerprint_of(true);
}

std::string Recipe::steps_fingerprint() const {
    return fingerprint_of(false);
}

std::string Recipe::fingerprint_of(bool cluster_overrides) const {
    std::string material;
    const auto add_file = [&](const std::string& kind, const std::filesystem::path& file) {
        material += fmt::format("{} {} {}\n", kind, file.string(), sha256_file(file));
    };
    for (const auto& file : files_) {
        add_file("recipe", file);
    }
    for (const auto& o : overrides_) {
        if (cluster_overrides || !o.starts_with("cluster.")) {
            material += fmt::format("set {}\n", o);
        }
    }
    for (const auto& step : steps_) {
        for (const auto& input : step->host_inputs()) {
            add_file(std::string(step->name()), input);
        }
    }
    return sha256_text(material);
}

} // namespace pimint
