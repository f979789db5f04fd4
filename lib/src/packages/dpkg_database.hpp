// dpkg's database as debootstrap's first stage and `dpkg --unpack` leave it: each new
// package in /var/lib/dpkg/status as "install ok unpacked", its files in
// info/NAME.list, its md5sums and maintainer scripts beside them. `dpkg --configure -a`
// on the Pi finishes from there.
#pragma once

#include "packages/control_stanza.hpp"
#include "packages/deb_package.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace pimint {

inline constexpr const char* dpkg_status_path = "/var/lib/dpkg/status";
inline constexpr const char* dpkg_info_dir = "/var/lib/dpkg/info";
inline constexpr const char* apt_extended_states_path = "/var/lib/apt/extended_states";

// The status stanza of `package` after a first unpack: its control fields with
// "Status: install ok unpacked" after Package, and each conffile listed as
// "newconffile" (dpkg's mark for a conffile not yet configured).
Stanza unpacked_status(const DebPackage& package);

// The image's status database with `added` stanzas in place of the stanzas of the same
// package and architecture (a package removed but not purged), appended otherwise.
std::string merge_status(std::string_view status, const std::vector<Stanza>& added);

// apt's extended_states with each of `automatic` ("name:arch") marked Auto-Installed, so
// that `apt autoremove` later knows which packages only came as dependencies.
std::string mark_automatic(std::string_view extended_states,
                           const std::vector<std::pair<std::string, std::string>>& automatic);

// dpkg-divert's records: a package's file `from` installed as `to` instead, unless the
// package is `owner` (":" for a local diversion, owned by none).
struct Diversion {
    std::string from;
    std::string to;
    std::string owner;
};
std::vector<Diversion> parse_diversions(std::string_view diversions);
// Where dpkg puts `path` of `package`: the diverted name, or `path` itself.
std::string diverted_path(const std::vector<Diversion>& diversions, const std::string& path,
                          const std::string& package);

} // namespace pimint
