// Debian control data (deb822): a package's control file, dpkg's status database and
// apt's extended_states are all stanzas of "Field: value" lines, continued by lines that
// start with a space, and separated by blank lines. Order and spelling are kept, so a
// database read and written back is unchanged.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pimint {

struct Stanza {
    // The value is as written after "Field:", leading blanks removed; continuation lines
    // stay in it with their newline and leading space.
    std::vector<std::pair<std::string, std::string>> fields;

    // The value of `name` (field names compare without case); empty when absent.
    std::string get(std::string_view name) const;
    // Replaces the value of `name`, or adds the field after `after` (at the end when
    // `after` is absent).
    void set(const std::string& name, const std::string& value, std::string_view after = {});
    void remove(std::string_view name);
    std::string text() const; // "Field: value\n" lines
};

std::vector<Stanza> parse_stanzas(std::string_view text);
// The stanzas separated by blank lines, as dpkg writes its database.
std::string format_stanzas(const std::vector<Stanza>& stanzas);

} // namespace pimint
