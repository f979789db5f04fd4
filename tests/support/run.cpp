#include "run.hpp"

#include "disk_image.hpp"
#include "temp_dir.hpp"

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <regex>
#include <spawn.h>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace pimint::test {

RunResult run(const std::vector<std::string>& argv) {
    TempDir dir;
    const auto out_path = dir / "stdout";
    const auto err_path = dir / "stderr";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<char*> args;
    for (const auto& a : argv) {
        args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    pid_t pid = 0;
    const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        throw std::runtime_error("cannot run " + argv[0]);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            throw std::runtime_error("waitpid failed for " + argv[0]);
        }
    }
    RunResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = read_file(out_path);
    r.err = read_file(err_path);
    return r;
}

std::string without_progress(const std::string& err) {
    static const std::regex stage_line(R"(^pimint: \[[0-9:]+\] )");
    std::string kept;
    size_t begin = 0;
    while (begin < err.size()) {
        size_t end = err.find('\n', begin);
        end = end == std::string::npos ? err.size() : end + 1;
        const std::string line = err.substr(begin, end - begin);
        if (!std::regex_search(line, stage_line)) {
            kept += line;
        }
        begin = end;
    }
    return kept;
}

std::string pimint_exe() {
    const char* exe = std::getenv("PIMINT_EXE");
    if (exe == nullptr) {
        throw std::runtime_error("PIMINT_EXE is not set; run the tests with meson test");
    }
    return exe;
}

} // namespace pimint::test
