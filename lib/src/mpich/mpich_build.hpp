// MPICH cross-compiled on the host for the image's ARM CPU (32-bit or 64-bit, as its
// own libc is), against a sysroot taken from the image itself (so binaries need no
// newer glibc than the image has), and cached by a hash of everything that shapes the
// result.
#pragma once

#include "pimint/image/appliance.hpp"
#include "pimint/image/image_fs.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace pimint {

struct MpichBuildSpec {
    std::filesystem::path source;                    // MPICH 3.x/4.x tarball
    std::string prefix = "/home/pi/mpich2-install";  // install prefix in the image
    std::string build_dir = "/home/pi/mpich2-build"; // examples/cpi goes here
    std::string device = "ch3:nemesis";
    std::vector<std::string> configure_flags; // extra, already translated
    bool fortran = false;
    // armv6, armv7 or armv8; empty: what the image's libc is built for
    std::string cpu;
    // compiler prefix; empty: Debian's for the image (arm-linux-gnueabihf, aarch64-linux-gnu)
    std::string toolchain;
};

struct MpichArchive {
    std::filesystem::path path; // gzip tar of prefix and build_dir, names relative to /
    bool from_cache = false;
    std::string key;
};

// The cache key of `spec` built against the image's libc with the installed toolchain,
// for the target chosen for the image.
std::string mpich_cache_key(const MpichBuildSpec& spec, ImageFs& image);

// The cached archive for `key` when it is complete and intact (its recorded SHA-256
// matches); nullopt when missing, partial or damaged.
std::optional<std::filesystem::path> cached_mpich_archive(const std::string& key);

// Returns the install tree for `spec`, built against the sysroot of the mounted image
// `image` unless the cache already holds it.
MpichArchive mpich_archive(const MpichBuildSpec& spec, ImageFs& image,
                           const StatusCallback& status);

// The version of libc6-dev (or libc6) recorded in the image's dpkg status; empty if none.
std::string image_libc_version(ImageFs& image);

} // namespace pimint
