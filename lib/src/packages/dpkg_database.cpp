#include "packages/dpkg_database.hpp"

#include "core/text.hpp"

#include <algorithm>

namespace pimint {
namespace {

std::string key_of(const Stanza& s) {
    return s.get("Package") + ":" + s.get("Architecture");
}

} // namespace

Stanza unpacked_status(const DebPackage& package) {
    Stanza s = package.control;
    s.set("Status", "install ok unpacked", "Package");
    const auto conffiles = package.conffiles();
    if (!conffiles.empty()) {
        std::string value;
        for (const auto& path : conffiles) {
            value += "\n " + path + " newconffile";
        }
        // dpkg writes Conffiles before the Description.
        auto description = std::find_if(s.fields.begin(), s.fields.end(),
                                        [](const auto& f) { return f.first == "Description"; });
        s.fields.insert(description, {"Conffiles", value});
    }
    return s;
}

std::string merge_status(std::string_view status, const std::vector<Stanza>& added) {
    std::vector<Stanza> stanzas = parse_stanzas(status);
    for (const auto& stanza : added) {
        const std::string key = key_of(stanza);
        auto same = std::find_if(stanzas.begin(), stanzas.end(),
                                 [&](const Stanza& s) { return key_of(s) == key; });
        if (same != stanzas.end()) {
            *same = stanza;
        } else {
            stanzas.push_back(stanza);
        }
    }
    return format_stanzas(stanzas);
}

std::string mark_automatic(std::string_view extended_states,
                           const std::vector<std::pair<std::string, std::string>>& automatic) {
    std::vector<Stanza> stanzas = parse_stanzas(extended_states);
    for (const auto& entry : automatic) {
        // Named copies: clang 14 cannot capture structured bindings in a lambda.
        const std::string& name = entry.first;
        const std::string& arch = entry.second;
        auto same = std::find_if(stanzas.begin(), stanzas.end(), [&](const Stanza& s) {
            return s.get("Package") == name && s.get("Architecture") == arch;
        });
        if (same == stanzas.end()) {
            Stanza s;
            s.fields = {{"Package", name}, {"Architecture", arch}};
            same = stanzas.insert(stanzas.end(), s);
        }
        same->set("Auto-Installed", "1");
    }
    return format_stanzas(stanzas);
}

std::vector<Diversion> parse_diversions(std::string_view diversions) {
    // Three lines per diversion: the diverted path, where it goes, the owning package.
    const auto lines = text::split_lines(diversions);
    std::vector<Diversion> out;
    for (std::size_t i = 0; i + 2 < lines.size(); i += 3) {
        out.push_back(
            {std::string(lines[i]), std::string(lines[i + 1]), std::string(lines[i + 2])});
    }
    return out;
}

std::string diverted_path(const std::vector<Diversion>& diversions, const std::string& path,
                          const std::string& package) {
    for (const auto& d : diversions) {
        if (d.from == path && d.owner != package) {
            return d.to;
        }
    }
    return path;
}

} // namespace pimint
