#include "publish/secret_scan.hpp"

#include "core/text.hpp"

#include <crypt.h>
#include <memory>
#include <set>

namespace pimint {
namespace {

// Default passwords that images have shipped with.
constexpr const char* default_passwords[] = {"raspberry"};

bool is_private_key(const std::string& name, const std::string& content) {
    return content.find("PRIVATE KEY-----") != std::string::npos ||
           (name.starts_with("id_") && !name.ends_with(".pub") &&
            content.find("ssh-") == std::string::npos);
}

bool hash_matches(const std::string& password, const std::string& hash) {
    // crypt_rn (libxcrypt) returns null on failure instead of a "*" token.
    auto data = std::make_unique<crypt_data>();
    const char* computed = crypt_rn(password.c_str(), hash.c_str(), data.get(), sizeof(crypt_data));
    return computed != nullptr && hash == computed;
}

std::vector<std::string_view> fields_of(std::string_view line) {
    std::vector<std::string_view> fields;
    size_t start = 0;
    for (size_t colon; (colon = line.find(':', start)) != std::string_view::npos;
         start = colon + 1) {
        fields.push_back(line.substr(start, colon - start));
    }
    fields.push_back(line.substr(start));
    return fields;
}

} // namespace

std::vector<std::string> find_secrets(ImageFs& fs) {
    std::vector<std::string> found;
    std::set<std::string> homes{"/root"};
    const std::string passwd = fs.read_if_exists("/etc/passwd").value_or("");
    for (const auto line : text::split_lines(passwd)) {
        const auto fields = fields_of(line);
        if (fields.size() >= 6 && !fields[5].empty()) {
            homes.insert(std::string(fields[5]));
        }
    }
    for (const auto& home : homes) {
        const std::string dir = (home == "/" ? "" : home) + "/.ssh";
        const auto st = fs.stat(dir);
        if (!st || st->type != FileStat::Type::directory) {
            continue;
        }
        for (const auto& name : fs.list(dir)) {
            const std::string path = dir + "/" + name;
            const auto file = fs.stat(path);
            if (file && file->type == FileStat::Type::regular &&
                is_private_key(name, fs.read(path))) {
                found.push_back(path + ": a private SSH key");
            }
        }
    }
    const std::string shadow = fs.read_if_exists("/etc/shadow").value_or("");
    for (const auto line : text::split_lines(shadow)) {
        const auto fields = fields_of(line);
        if (fields.size() < 2 || fields[1].empty() || fields[1][0] != '$') {
            continue; // locked, no password, or not a crypt hash
        }
        for (const char* password : default_passwords) {
            if (hash_matches(password, std::string(fields[1]))) {
                found.push_back("/etc/shadow: user " + std::string(fields[0]) +
                                " has the default password \"" + password + "\"");
            }
        }
    }
    return found;
}

} // namespace pimint
