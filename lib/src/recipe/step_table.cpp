#include "recipe/step_table.hpp"

#include "core/did_you_mean.hpp"
#include "pimint/core/error.hpp"

#include <fmt/format.h>

namespace pimint {
namespace {

const char* type_name(const toml::node& node) {
    switch (node.type()) {
    case toml::node_type::string:
        return "a string";
    case toml::node_type::integer:
        return "an integer";
    case toml::node_type::floating_point:
        return "a number";
    case toml::node_type::boolean:
        return "true or false";
    case toml::node_type::array:
        return "an array";
    case toml::node_type::table:
        return "a table";
    default:
        return "a date or time";
    }
}

} // namespace

namespace {

[[noreturn]] void throw_unknown_key(const StepTable::Impl& impl, const toml::key& key,
                                    const std::vector<std::string>& known) {
    throw Error(ErrorCategory::recipe, location_of(key.source(), impl.where.file).str(),
                fmt::format("unknown key '{}' in [{}]{}", key.str(), impl.name,
                            did_you_mean(key.str(), known)));
}

} // namespace

SourceLocation location_of(const toml::source_region& region, const std::string& fallback_file) {
    SourceLocation loc;
    loc.file = region.path ? *region.path : fallback_file;
    loc.line = static_cast<int>(region.begin.line);
    loc.column = static_cast<int>(region.begin.column);
    return loc;
}

StepTable::StepTable(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
StepTable::~StepTable() = default;

const std::string& StepTable::name() const {
    return impl_->name;
}

SourceLocation StepTable::location(std::string_view key) const {
    if (const toml::node* node = impl_->get(key)) {
        return location_of(node->source(), impl_->where.file);
    }
    return impl_->where;
}

void StepTable::fail(std::string_view key, const std::string& message) const {
    throw Error(ErrorCategory::recipe, location(key).str(),
                key.empty() ? fmt::format("[{}]: {}", impl_->name, message)
                            : fmt::format("{}.{}: {}", impl_->name, key, message));
}

namespace {

// The value of `node` as a T; nullopt when absent; a recipe error naming `expected` when
// it has another type.
template <typename T>
std::optional<T> scalar(const StepTable& table, const toml::node* node, std::string_view key,
                        const char* expected) {
    if (node == nullptr) {
        return std::nullopt;
    }
    if (const auto* value = node->as<T>()) {
        return value->get();
    }
    table.fail(key, fmt::format("expected {}, found {}", expected, type_name(*node)));
}

} // namespace

std::optional<Template> StepTable::string(std::string_view key) {
    const auto text = scalar<std::string>(*this, impl_->read(key), key, "a string");
    if (!text) {
        return std::nullopt;
    }
    Template t(*text, location(key));
    impl_->placeholders = impl_->placeholders || t.has_placeholders();
    return t;
}

bool StepTable::has_placeholders() const {
    return impl_->placeholders;
}

std::optional<std::string> StepTable::plain(std::string_view key) {
    return scalar<std::string>(*this, impl_->read(key), key, "a string");
}

std::optional<bool> StepTable::boolean(std::string_view key) {
    return scalar<bool>(*this, impl_->read(key), key, "true or false");
}

std::optional<std::int64_t> StepTable::integer(std::string_view key) {
    return scalar<std::int64_t>(*this, impl_->read(key), key, "an integer");
}

std::optional<int> StepTable::integer_in(std::string_view key, int low, int high,
                                         const std::string& problem) {
    const auto value = integer(key);
    if (value && (*value < low || *value > high)) {
        fail(key, problem);
    }
    return value ? std::optional<int>(static_cast<int>(*value)) : std::nullopt;
}

std::optional<std::vector<Template>> StepTable::strings(std::string_view key) {
    const toml::node* node = impl_->read(key);
    if (node == nullptr) {
        return std::nullopt;
    }
    const auto note = [this](const std::vector<Template>& list) {
        for (const auto& t : list) {
            impl_->placeholders = impl_->placeholders || t.has_placeholders();
        }
        return list;
    };
    if (node->is_string()) {
        return note({Template(**node->as_string(), location(key))});
    }
    const toml::array* array = node->as_array();
    if (array == nullptr) {
        fail(key, fmt::format("expected an array of strings, found {}", type_name(*node)));
    }
    std::vector<Template> out;
    for (const auto& element : *array) {
        if (!element.is_string()) {
            throw Error(ErrorCategory::recipe,
                        location_of(element.source(), impl_->where.file).str(),
                        fmt::format("{}.{}: expected strings in the array, found {}", impl_->name,
                                    key, type_name(element)));
        }
        out.emplace_back(**element.as_string(), location_of(element.source(), impl_->where.file));
    }
    return note(out);
}

std::optional<std::uint32_t> StepTable::mode(std::string_view key) {
    const toml::node* node = impl_->read(key);
    if (node == nullptr) {
        return std::nullopt;
    }
    std::string digits;
    if (node->is_string()) {
        digits = **node->as_string();
    } else if (node->is_integer()) {
        const auto* value = node->as_integer();
        // 0o644 is the mode itself; a plain 644 is read as octal digits.
        digits = (value->flags() & toml::value_flags::format_as_octal) != toml::value_flags::none
                     ? fmt::format("{:o}", **value)
                     : std::to_string(**value);
    } else {
        fail(key,
             fmt::format("expected an octal mode such as \"0644\", found {}", type_name(*node)));
    }
    if (digits.empty() || digits.size() > 4 ||
        digits.find_first_not_of("01234567") != std::string::npos) {
        fail(key, fmt::format("'{}' is not an octal mode; write it like \"0644\"", digits));
    }
    return static_cast<std::uint32_t>(std::stoul(digits, nullptr, 8));
}

void StepTable::require_one_of(std::string_view a, std::string_view b) const {
    const bool has_a = impl_->get(a) != nullptr;
    const bool has_b = impl_->get(b) != nullptr;
    if (has_a == has_b) {
        fail(has_a ? b : std::string_view(),
             fmt::format("give exactly one of '{}' and '{}'", a, b));
    }
}

void StepTable::report_misspelled_key() const {
    const std::vector<std::string> known(impl_->known.begin(), impl_->known.end());
    for (const toml::table* part : impl_->parts) {
        for (const auto& [key, value] : *part) {
            if (impl_->known.count(key.str()) == 0 && !closest_match(key.str(), known).empty()) {
                throw_unknown_key(*impl_, key, known);
            }
        }
    }
}

void StepTable::finish() {
    const std::vector<std::string> known(impl_->known.begin(), impl_->known.end());
    for (const toml::table* part : impl_->parts) {
        for (const auto& [key, value] : *part) {
            if (impl_->known.count(key.str()) == 0) {
                throw_unknown_key(*impl_, key, known);
            }
        }
    }
}

} // namespace pimint
