#include "packages/deb_package.hpp"

#include "core/archive_handle.hpp"
#include "core/text.hpp"
#include "pimint/core/error.hpp"

#include <archive_entry.h>
#include <fmt/format.h>

namespace pimint {
namespace {

[[noreturn]] void not_a_package(const std::filesystem::path& file, const std::string& why) {
    throw Error(ErrorCategory::io, file.string(),
                fmt::format("not a usable Debian package: {}; build it with dpkg-deb --build "
                            "or download it again",
                            why));
}

// The contents of the member of the .deb whose name starts with `prefix`
// ("control.tar", "data.tar"), after checking the package format.
std::string member(const std::filesystem::path& file, std::string_view prefix) {
    ReadArchive ar = open_archive(file);
    archive_entry* entry = nullptr;
    bool format_checked = false;
    while (next_entry(ar.get(), &entry, file)) {
        const std::string name = archive_entry_pathname(entry);
        if (name == "debian-binary") {
            if (!read_entry_data(ar.get(), file).starts_with("2.")) {
                not_a_package(file, "its debian-binary is not format 2.x");
            }
            format_checked = true;
        } else if (name.starts_with(prefix)) {
            if (!format_checked) {
                not_a_package(file, "debian-binary is not its first member");
            }
            return read_entry_data(ar.get(), file);
        }
    }
    not_a_package(file, fmt::format("it has no {}.* member", prefix));
}

std::string without_dot_slash(std::string name) {
    if (name.starts_with("./")) {
        name.erase(0, 2);
    }
    return name;
}

} // namespace

std::string DebPackage::database_name() const {
    return control.get("Multi-Arch") == "same" ? name() + ":" + architecture() : name();
}

std::vector<std::string> DebPackage::conffiles() const {
    std::vector<std::string> paths;
    const auto it = control_files.find("conffiles");
    if (it == control_files.end()) {
        return paths;
    }
    // A line is a path, optionally followed by flags (remove-on-upgrade).
    for (auto line : text::split_lines(it->second.content)) {
        const auto words = text::split_ws(line);
        if (!words.empty() && words.front().starts_with('/')) {
            paths.emplace_back(words.front());
        }
    }
    return paths;
}

DebPackage read_deb(const std::filesystem::path& file) {
    DebPackage package;
    package.file = file;
    const std::string control_tar = member(file, "control.tar");
    ReadArchive in = open_archive_in_memory(control_tar, file);
    archive_entry* entry = nullptr;
    bool has_control = false;
    while (next_entry(in.get(), &entry, file)) {
        if (archive_entry_filetype(entry) != AE_IFREG) {
            continue;
        }
        const std::string name = without_dot_slash(archive_entry_pathname(entry));
        std::string content = read_entry_data(in.get(), file);
        if (name == "control") {
            const auto stanzas = parse_stanzas(content);
            if (stanzas.size() != 1) {
                not_a_package(file, "its control file is not one stanza");
            }
            package.control = stanzas.front();
            has_control = true;
        } else if (name.find('/') == std::string::npos) {
            package.control_files[name] = {std::move(content), archive_entry_perm(entry) & 07777U};
        }
    }
    if (!has_control || package.name().empty() || package.version().empty() ||
        package.architecture().empty()) {
        not_a_package(file, "its control file lacks Package, Version or Architecture");
    }
    return package;
}

void visit_deb_data(const std::filesystem::path& file, const DebDataVisitor& visit) {
    const std::string data_tar = member(file, "data.tar");
    ReadArchive in = open_archive_in_memory(data_tar, file);
    archive_entry* entry = nullptr;
    while (next_entry(in.get(), &entry, file)) {
        visit(entry, in.get());
    }
}

} // namespace pimint
