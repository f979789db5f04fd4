#include "core/output_lock.hpp"

#include "pimint/core/error.hpp"
#include "pimint/core/files.hpp"

#include <cerrno>
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace pimint {

namespace {

// The output directory, created if needed; checked before anything is written into it.
const std::filesystem::path& writable_dir(const std::filesystem::path& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec || ::access(dir.c_str(), W_OK) != 0) {
        throw Error(ErrorCategory::io, dir.string(), "cannot create or write the output directory");
    }
    return dir;
}

} // namespace

std::filesystem::path state_dir(const std::filesystem::path& dir) {
    const auto state = dir / ".pimint";
    std::error_code ec;
    std::filesystem::create_directories(state, ec);
    if (ec || ::chmod(state.c_str(), 0700) != 0) {
        throw Error(ErrorCategory::io, state.string(),
                    "cannot create pimint's private state directory");
    }
    return state;
}

OutputDirLock::OutputDirLock(const std::filesystem::path& dir)
    : fd_(state_dir(writable_dir(dir)) / "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600) {
    if (::flock(fd_.get(), LOCK_EX | LOCK_NB) != 0) {
        throw Error(ErrorCategory::io, dir.string(),
                    errno == EWOULDBLOCK
                        ? "another pimint run is writing this directory; wait for it to end or "
                          "use another output directory"
                        : "cannot lock the output directory");
    }
    stale_removed_ = remove_stale_temporaries(dir);
}

int remove_stale_temporaries(const std::filesystem::path& dir) {
    int removed = 0;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (!name.starts_with(AtomicOutput::temp_prefix)) {
            continue;
        }
        const auto dot = name.rfind('.');
        int pid = 0;
        try {
            pid = std::stoi(name.substr(dot + 1));
        } catch (const std::exception&) {
            continue; // not one of ours
        }
        if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) {
            std::filesystem::remove(entry.path(), ec);
            removed += ec ? 0 : 1;
        }
    }
    return removed;
}

} // namespace pimint
