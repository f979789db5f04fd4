#include "mpich/compile_cache.hpp"

#include "core/subprocess.hpp"
#include "core/text.hpp"
#include "core/text_file.hpp"

#include <cstdlib>
#include <fmt/format.h>

namespace pimint {

void precompile_mpiimpl_header(const std::filesystem::path& source_dir,
                               const std::filesystem::path& work,
                               const std::map<std::string, std::string>& env,
                               const std::filesystem::path& log) {
    if (!std::filesystem::exists(source_dir / "src" / "include" / "mpiimpl.h")) {
        return; // not MPICH 3.3 or later: nothing to gain
    }
    const auto flags_makefile = work / "libmpi-flags.mk";
    write_text(flags_makefile,
               "pimint-libmpi-flags:\n\t@echo $(DEFS) $(DEFAULT_INCLUDES) $(INCLUDES) "
               "$(lib_libmpi_la_CPPFLAGS) $(CPPFLAGS) $(AM_CFLAGS) $(CFLAGS)\n");
    const std::string printed = run_capture(
        {{"make", "-s", "-f", "Makefile", "-f", flags_makefile.string(), "pimint-libmpi-flags"},
         source_dir,
         env});
    const std::string flags(text::trim(printed));
    // libtool adds these when it compiles the objects of a shared library.
    run_logged({{"sh", "-c",
                 fmt::format("{} {} -fPIC -DPIC -x c-header ./src/include/mpiimpl.h -o "
                             "./src/include/mpiimpl.h.gch",
                             env.at("CC"), flags)},
                source_dir,
                env},
               log);
}

CcacheCounts ccache_counts(const std::filesystem::path& ccache,
                           const std::map<std::string, std::string>& env) {
    CcacheCounts counts;
    const std::string out = run_capture({{ccache.string(), "--print-stats"}, {}, env});
    for (auto l : text::split_lines(out)) {
        const auto tab = l.find('\t');
        if (tab == std::string_view::npos) {
            continue;
        }
        const auto name = l.substr(0, tab);
        const long value = std::atol(std::string(l.substr(tab + 1)).c_str());
        if (name == "direct_cache_hit" || name == "preprocessed_cache_hit") {
            counts.hits += value;
        } else if (name == "cache_miss") {
            counts.misses += value;
        }
    }
    return counts;
}

} // namespace pimint
