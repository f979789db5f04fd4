#include "packages/control_stanza.hpp"

#include "core/text.hpp"

#include <algorithm>
#include <cctype>

namespace pimint {
namespace {

bool same_name(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

} // namespace

std::string Stanza::get(std::string_view name) const {
    for (const auto& [field, value] : fields) {
        if (same_name(field, name)) {
            return value;
        }
    }
    return {};
}

void Stanza::set(const std::string& name, const std::string& value, std::string_view after) {
    for (auto& [field, old] : fields) {
        if (same_name(field, name)) {
            old = value;
            return;
        }
    }
    auto at = std::find_if(fields.begin(), fields.end(),
                           [&](const auto& f) { return same_name(f.first, after); });
    fields.insert(at == fields.end() ? at : at + 1, {name, value});
}

void Stanza::remove(std::string_view name) {
    std::erase_if(fields, [&](const auto& f) { return same_name(f.first, name); });
}

std::string Stanza::text() const {
    std::string out;
    for (const auto& [field, value] : fields) {
        out += field + ":" + (value.empty() || value.front() == '\n' ? "" : " ") + value + "\n";
    }
    return out;
}

std::vector<Stanza> parse_stanzas(std::string_view text) {
    std::vector<Stanza> stanzas;
    bool in_stanza = false;
    for (std::string_view line : text::split_lines(text)) {
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        if (text::trim(line).empty()) {
            in_stanza = false;
            continue;
        }
        if (!in_stanza) {
            stanzas.emplace_back();
            in_stanza = true;
        }
        auto& fields = stanzas.back().fields;
        if ((line.front() == ' ' || line.front() == '\t') && !fields.empty()) {
            fields.back().second += "\n" + std::string(line);
            continue;
        }
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) {
            continue; // not a field: dpkg refuses such a line, apt skips it; so do we
        }
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
            value.remove_prefix(1);
        }
        fields.emplace_back(std::string(line.substr(0, colon)), std::string(value));
    }
    return stanzas;
}

std::string format_stanzas(const std::vector<Stanza>& stanzas) {
    std::string out;
    for (const auto& stanza : stanzas) {
        if (!out.empty()) {
            out += "\n";
        }
        out += stanza.text();
    }
    return out;
}

} // namespace pimint
