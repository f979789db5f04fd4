// Running host programs (configure, make, the cross compiler) with their output sent to
// a log file; a failure throws Error with the command and the log's last lines.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace pimint {

struct Command {
    std::vector<std::string> argv;
    std::filesystem::path cwd;
    std::map<std::string, std::string> env; // added to (or replacing in) the environment
};

// Sees what a running command has appended to its log since the last call (a few
// seconds' worth, cut anywhere, even mid-line), so a long build can report progress.
using LogWatcher = std::function<void(std::string_view fresh)>;

// Runs `command`, appending its stdout and stderr to `log`. Throws Error(build) naming
// the command, with the log's last lines, when it cannot start or exits non-zero. With
// a `watcher`, the output is handed to it every two seconds while the command runs.
void run_logged(const Command& command, const std::filesystem::path& log,
                const LogWatcher& watcher = {});

// Runs `command` and returns its standard output; throws on a non-zero exit.
std::string run_capture(const Command& command);

// The last `lines` lines of a text file.
std::string tail_lines(const std::filesystem::path& file, int lines);

// The full path of `program` found in PATH; empty when absent.
std::filesystem::path find_program(const std::string& program);

} // namespace pimint
