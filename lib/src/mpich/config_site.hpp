// The configure side of the MPICH build: what every configure of it (MPICH's and its
// bundled packages') reads instead of probing the target again.
#pragma once

#include <filesystem>
#include <map>
#include <string>

namespace pimint {

// The sizes and alignments of the target's types that MPICH's configures ask about, as
// "variable=value" lines for config.site: found by compiling for the target (assembly
// only, nothing runs) with `env`'s CC, CXX and flags. Commands go to `log`.
std::string target_type_facts(const std::map<std::string, std::string>& env,
                              const std::filesystem::path& work, const std::filesystem::path& log);

// Every configure of the build, MPICH's and those it runs for its bundled packages,
// reads this site file (CONFIG_SITE). Configures that run with the same compilers and
// flags share their answers, as autoconf's `configure -C` shares one cache among
// sub-directories: MPICH hands --cache-file=/dev/null to its sub-configures, so the site
// file names a cache file of each configure's own, keyed by its flags, and loads what
// the configures before it with the same flags found (without their recorded
// environment, which autoconf would otherwise compare with the current one). The facts
// about the target's types come first.
void write_config_site(const std::filesystem::path& site, const std::filesystem::path& caches,
                       const std::string& facts);

} // namespace pimint
