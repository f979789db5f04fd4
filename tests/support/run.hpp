// Runs a program with arguments (no shell), capturing stdout, stderr and the exit code.
#pragma once

#include <string>
#include <vector>

namespace pimint::test {

struct RunResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};

RunResult run(const std::vector<std::string>& argv);

// `err` without the stage lines a piped run prints ("pimint: [M:SS] ..."), leaving its
// results and errors.
std::string without_progress(const std::string& err);

// The pimint executable under test (PIMINT_EXE, set by meson test).
std::string pimint_exe();

} // namespace pimint::test
