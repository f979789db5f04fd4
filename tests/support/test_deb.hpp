// Builds small Debian packages with dpkg-deb for the packages tests: files with modes,
// conffiles, maintainer scripts, in any architecture (nothing in them is run here).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

namespace pimint::test {

struct TestDeb {
    std::string name = "pimint-test";
    std::string version = "1.0-1";
    std::string architecture = "armhf";
    std::string extra_control;                      // more "Field: value" lines
    std::map<std::string, std::string> files;       // "etc/x.conf" -> content (mode 0644)
    std::map<std::string, std::string> executables; // "usr/bin/x" -> content (mode 0755)
    std::map<std::string, std::string> scripts;     // "postinst" -> shell text
    bool conffiles_from_etc = true;                 // every file under etc/ is a conffile
    std::string compression = "xz";                 // dpkg-deb -Z: xz, gzip, zstd
};

// Writes the package into `dir` and returns its path; fails the test on error.
std::filesystem::path make_deb(const TestDeb& deb, const std::filesystem::path& dir);

} // namespace pimint::test
