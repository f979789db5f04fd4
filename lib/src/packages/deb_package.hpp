// Reading Debian binary packages (.deb) with libarchive: an ar archive holding
// debian-binary, control.tar.* (the control file, maintainer scripts, md5sums,
// conffiles, triggers) and data.tar.* (the files), each member compressed with gzip, xz
// or zstd. Nothing is unpacked on the host's filesystem.
#pragma once

#include "packages/control_stanza.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

struct archive;
struct archive_entry;

namespace pimint {

struct DebControlFile {
    std::string content;
    std::uint32_t mode = 0644;
};

struct DebPackage {
    std::filesystem::path file;
    Stanza control;
    // Every member of control.tar but "control" itself, by name: "postinst", "md5sums",
    // "conffiles", "triggers", ...
    std::map<std::string, DebControlFile> control_files;

    std::string name() const { return control.get("Package"); }
    std::string version() const { return control.get("Version"); }
    std::string architecture() const { return control.get("Architecture"); }
    // The name of the package's files in /var/lib/dpkg/info: "name", or "name:arch" for
    // a Multi-Arch: same package (several architectures of it can be installed).
    std::string database_name() const;
    // The absolute paths listed in its conffiles file.
    std::vector<std::string> conffiles() const;
};

// Throws Error(io) naming the file when it is not a readable Debian package.
DebPackage read_deb(const std::filesystem::path& file);

// Calls `visit` for each entry of the package's data archive, in archive order; `data`
// is positioned at the entry, so the visitor may read its contents.
using DebDataVisitor = std::function<void(archive_entry* entry, archive* data)>;
void visit_deb_data(const std::filesystem::path& file, const DebDataVisitor& visit);

} // namespace pimint
