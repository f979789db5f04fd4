#include "core/subprocess.hpp"

#include "core/file_handle.hpp"
#include "pimint/core/error.hpp"

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <fmt/format.h>
#include <fstream>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace pimint {
namespace {

std::string describe(const Command& c) {
    std::string s;
    for (const auto& a : c.argv) {
        s += (s.empty() ? "" : " ") + a;
    }
    return s;
}

std::vector<std::string> environment_with(const std::map<std::string, std::string>& extra) {
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string entry = *e;
        if (extra.count(entry.substr(0, entry.find('='))) == 0) {
            env.push_back(entry);
        }
    }
    for (const auto& [k, v] : extra) {
        env.push_back(k + "=" + v);
    }
    return env;
}

// Spawns `c` with stdout on `out_fd`, stderr on `err_fd`, stdin from /dev/null; returns
// the exit status (128+signal when killed). While it runs, `tick` (when set) is called
// every `tick_period` on this thread.
int spawn_and_wait(const Command& c, int out_fd, int err_fd, const std::function<void()>& tick = {},
                   std::chrono::milliseconds tick_period = std::chrono::seconds(2)) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out_fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err_fd, STDERR_FILENO);
    if (!c.cwd.empty()) {
        posix_spawn_file_actions_addchdir_np(&actions, c.cwd.c_str());
    }
    std::vector<char*> argv;
    for (const auto& a : c.argv) {
        argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    auto env_strings = environment_with(c.env);
    std::vector<char*> envp;
    for (auto& e : env_strings) {
        envp.push_back(e.data());
    }
    envp.push_back(nullptr);
    pid_t pid = 0;
    const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        throw Error(ErrorCategory::build, c.argv[0],
                    fmt::format("cannot run: {}", std::strerror(rc)));
    }
    int status = 0;
    if (!tick) {
        while (::waitpid(pid, &status, 0) < 0) {
            if (errno != EINTR) {
                throw Error(ErrorCategory::internal, c.argv[0], "waitpid failed");
            }
        }
    } else {
        // Polled, with a short sleep: a SIGCHLD handler would be process-wide state that
        // a library must not take from its host program.
        auto next_tick = std::chrono::steady_clock::now() + tick_period;
        for (;;) {
            const pid_t done = ::waitpid(pid, &status, WNOHANG);
            if (done == pid) {
                break;
            }
            if (done < 0 && errno != EINTR) {
                throw Error(ErrorCategory::internal, c.argv[0], "waitpid failed");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            if (std::chrono::steady_clock::now() >= next_tick) {
                tick();
                next_tick += tick_period;
            }
        }
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

} // namespace

void run_logged(const Command& command, const std::filesystem::path& log,
                const LogWatcher& watcher) {
    {
        std::ofstream header(log, std::ios::app);
        header << "\n$ " << describe(command) << "\n";
    }
    FdHandle fd(log, O_WRONLY | O_APPEND | O_CREAT, 0644);
    std::function<void()> tick;
    std::ifstream reader;
    if (watcher) {
        // Only what this command appends is shown to the watcher.
        reader.open(log, std::ios::binary);
        reader.seekg(0, std::ios::end);
        tick = [&] {
            reader.clear();
            std::string fresh((std::istreambuf_iterator<char>(reader)),
                              std::istreambuf_iterator<char>());
            watcher(fresh);
        };
    }
    const int status = spawn_and_wait(command, fd.get(), fd.get(), tick);
    if (tick) {
        tick(); // the last lines
    }
    if (status != 0) {
        throw Error(ErrorCategory::build, log.string(),
                    fmt::format("'{}' failed (exit {}); last lines of the log: {}",
                                describe(command), status, tail_lines(log, 5)));
    }
}

std::string run_capture(const Command& command) {
    char templ[] = "/tmp/pimint-capture.XXXXXX";
    const int fd = ::mkstemp(templ);
    if (fd < 0) {
        throw Error(ErrorCategory::io, templ, "cannot create a temporary file");
    }
    const std::filesystem::path path = templ;
    int status = 0;
    try {
        status = spawn_and_wait(command, fd, fd);
    } catch (...) {
        ::close(fd);
        std::filesystem::remove(path);
        throw;
    }
    ::close(fd);
    std::ifstream in(path);
    std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::filesystem::remove(path);
    if (status != 0) {
        throw Error(ErrorCategory::build, command.argv[0],
                    fmt::format("'{}' failed (exit {}): {}", describe(command), status, out));
    }
    return out;
}

std::string tail_lines(const std::filesystem::path& file, int lines) {
    std::ifstream in(file);
    std::deque<std::string> last;
    for (std::string line; std::getline(in, line);) {
        last.push_back(line);
        if (static_cast<int>(last.size()) > lines) {
            last.pop_front();
        }
    }
    std::string out;
    for (const auto& l : last) {
        out += (out.empty() ? "" : " | ") + l;
    }
    return out;
}

std::filesystem::path find_program(const std::string& program) {
    const char* path = std::getenv("PATH");
    std::string_view dirs = path != nullptr ? path : "/usr/bin:/bin";
    while (!dirs.empty()) {
        const auto colon = dirs.find(':');
        const std::filesystem::path candidate =
            std::filesystem::path(std::string(dirs.substr(0, colon))) / program;
        if (::access(candidate.c_str(), X_OK) == 0) {
            return candidate;
        }
        dirs = colon == std::string_view::npos ? std::string_view() : dirs.substr(colon + 1);
    }
    return {};
}

} // namespace pimint
