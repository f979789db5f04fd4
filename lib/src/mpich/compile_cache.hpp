// What makes the MPICH compile cheap besides make -j: a precompiled mpiimpl.h, and
// ccache, whose counters the build reports.
#pragma once

#include <filesystem>
#include <map>
#include <string>

namespace pimint {

// Nearly every source of libmpi starts with #include "mpiimpl.h", about 30,000 lines
// once preprocessed. Compiled once as a precompiled header, with the same flags as
// libmpi's objects (gcc takes it only where they match), it spares each of them
// parsing it: the objects come out byte for byte the same. The header is named as the
// compiles find it (./src/include/), since that path is what __FILE__ records.
void precompile_mpiimpl_header(const std::filesystem::path& source_dir,
                               const std::filesystem::path& work,
                               const std::map<std::string, std::string>& env,
                               const std::filesystem::path& log);

// ccache's counters, zeroed before a build so that they describe it alone (builds take
// the machine-wide build lock, so no other pimint build counts meanwhile).
struct CcacheCounts {
    long hits = 0;
    long misses = 0;
};

CcacheCounts ccache_counts(const std::filesystem::path& ccache,
                           const std::map<std::string, std::string>& env);

} // namespace pimint
