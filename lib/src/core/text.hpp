// Parsers for the small configuration file formats found in a Raspberry Pi OS image.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace pimint::text {

// These return views into their argument: passing a temporary string would leave the
// views dangling, so that does not compile.
std::string_view trim(std::string_view s);
std::vector<std::string_view> split_lines(std::string_view s);
std::vector<std::string_view> split_ws(std::string_view s);
std::string_view trim(std::string&&) = delete;
std::vector<std::string_view> split_lines(std::string&&) = delete;
std::vector<std::string_view> split_ws(std::string&&) = delete;

// `text` with every `from` replaced by `to` (left to right, not rescanning replacements).
std::string replace_all(std::string text, const std::string& from, const std::string& to);

// KEY=value lines as in /etc/os-release and /etc/default/*: comments and blank lines
// skipped, one level of single or double quotes removed.
std::map<std::string, std::string> parse_assignments(std::string_view content);

struct FstabEntry {
    std::string device;
    std::string mount_point;
    std::string fs_type;
    std::string options;
};
std::vector<FstabEntry> parse_fstab(std::string_view content);

struct PasswdEntry {
    std::string name;
    unsigned uid = 0;
    unsigned gid = 0;
    std::string home;
    std::string shell;
};
std::vector<PasswdEntry> parse_passwd(std::string_view content);

} // namespace pimint::text
