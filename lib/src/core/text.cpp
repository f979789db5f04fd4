#include "core/text.hpp"

#include <charconv>

namespace pimint::text {

std::string_view trim(std::string_view s) {
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) {
        return {};
    }
    const auto last = s.find_last_not_of(" \t\r\n");
    return s.substr(first, last - first + 1);
}

std::vector<std::string_view> split_lines(std::string_view s) {
    std::vector<std::string_view> lines;
    while (!s.empty()) {
        const auto nl = s.find('\n');
        lines.push_back(s.substr(0, nl));
        if (nl == std::string_view::npos) {
            break;
        }
        s.remove_prefix(nl + 1);
    }
    return lines;
}

std::vector<std::string_view> split_ws(std::string_view s) {
    std::vector<std::string_view> fields;
    size_t pos = 0;
    while (pos < s.size()) {
        const auto start = s.find_first_not_of(" \t", pos);
        if (start == std::string_view::npos) {
            break;
        }
        const auto end = s.find_first_of(" \t", start);
        fields.push_back(s.substr(start, end == std::string_view::npos ? end : end - start));
        pos = end == std::string_view::npos ? s.size() : end;
    }
    return fields;
}

std::map<std::string, std::string> parse_assignments(std::string_view content) {
    std::map<std::string, std::string> out;
    for (auto line : split_lines(content)) {
        line = trim(line);
        if (line.empty() || line.front() == '#') {
            continue;
        }
        if (line.starts_with("export ")) {
            line = trim(line.substr(7));
        }
        const auto eq = line.find('=');
        if (eq == std::string_view::npos || eq == 0) {
            continue;
        }
        std::string_view value = trim(line.substr(eq + 1));
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
            value.back() == value.front()) {
            value = value.substr(1, value.size() - 2);
        }
        out[std::string(trim(line.substr(0, eq)))] = std::string(value);
    }
    return out;
}

std::vector<FstabEntry> parse_fstab(std::string_view content) {
    std::vector<FstabEntry> out;
    for (auto line : split_lines(content)) {
        line = trim(line);
        if (line.empty() || line.front() == '#') {
            continue;
        }
        const auto f = split_ws(line);
        if (f.size() < 3) {
            continue;
        }
        out.push_back({std::string(f[0]), std::string(f[1]), std::string(f[2]),
                       f.size() > 3 ? std::string(f[3]) : std::string()});
    }
    return out;
}

std::vector<PasswdEntry> parse_passwd(std::string_view content) {
    std::vector<PasswdEntry> out;
    for (auto line : split_lines(content)) {
        std::vector<std::string_view> f;
        size_t pos = 0;
        for (;;) {
            const auto colon = line.find(':', pos);
            f.push_back(line.substr(pos, colon == std::string_view::npos ? colon : colon - pos));
            if (colon == std::string_view::npos) {
                break;
            }
            pos = colon + 1;
        }
        if (f.size() != 7) {
            continue;
        }
        PasswdEntry e;
        e.name = f[0];
        if (std::from_chars(f[2].data(), f[2].data() + f[2].size(), e.uid).ec != std::errc{} ||
            std::from_chars(f[3].data(), f[3].data() + f[3].size(), e.gid).ec != std::errc{}) {
            continue;
        }
        e.home = f[5];
        e.shell = f[6];
        out.push_back(std::move(e));
    }
    return out;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
    if (from.empty()) {
        return text;
    }
    for (size_t pos = text.find(from); pos != std::string::npos;
         pos = text.find(from, pos + to.size())) {
        text.replace(pos, from.size(), to);
    }
    return text;
}

} // namespace pimint::text
