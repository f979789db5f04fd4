// libtool's compile mode without libtool's cost. MPICH's build runs libtool once per
// object (1,135 of them), and each run of the generated script starts about 30 processes
// (subshells, sed, rm, mv) before the compiler: on machines where a process start is
// costly that is a large share of the build.
#pragma once

#include <filesystem>

namespace pimint {

// Puts a fast path at the top of a libtool script that configure generated: for
// `--mode=compile`, with only the options libtool's compile mode takes from automake's
// rules, it runs the compiler with libtool's PIC flags into `.libs/` and writes the same
// `.lo` file libtool writes, in the shell alone; anything else falls through to libtool.
// Only done for a script configured as this path assumes (shared libraries only, PIC
// objects in .libs, the compiler takes -c with -o); returns whether it was done, and
// leaves any other script as it was.
bool add_libtool_compile_fast_path(const std::filesystem::path& script);

} // namespace pimint
