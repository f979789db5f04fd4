// Unpacking packages into a mounted image as a first `dpkg --unpack` would, through the
// appliance (one archive, one call): each package's files with their owners and modes,
// conffiles as NAME.dpkg-new, files another package diverted at their diverted name,
// existing directories (and /lib-style symlinks of merged-/usr images) left alone; then
// dpkg's database: info/NAME.list, md5sums and maintainer scripts, the status entry
// "install ok unpacked", and apt's auto-installed marks for dependencies.
#pragma once

#include "packages/apt_resolver.hpp"
#include "pimint/image/image_fs.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace pimint {

struct UnpackedPackages {
    // The packages' names in dpkg's info directory ("hello", "libfoo1:armhf"), in the
    // order given (dependencies first), for running their preinst scripts later.
    std::vector<std::string> database_names;
    std::uint64_t files = 0;
    std::uint64_t installed_bytes = 0; // the sum of their Installed-Size
};

// Throws Error(image) before writing anything when the root filesystem lacks the room.
// `scratch` is a host directory for the archive; `mtime` dates dpkg's new info files.
UnpackedPackages unpack_packages(ImageFs& fs, const std::vector<ResolvedPackage>& packages,
                                 const std::filesystem::path& scratch, std::int64_t mtime);

} // namespace pimint
