// One writer per output directory. Two runs writing the same cluster directory would
// interleave images and manifests, so a run holds DIR/.pimint/lock (flock) from start
// to end, and a second run stops at once with a clear error instead of waiting. Holding
// the lock also makes every temporary file left in DIR by an earlier, killed run
// (.pimint-tmp.NAME.PID whose PID is gone) safe to remove.
#pragma once

#include "core/file_handle.hpp"

#include <filesystem>

namespace pimint {

// DIR/.pimint, pimint's private state in an output directory (keys, lock, scratch
// archives of private files): created if needed, mode 0700.
std::filesystem::path state_dir(const std::filesystem::path& dir);

class OutputDirLock {
public:
    // Creates DIR (and DIR/.pimint, 0700) if needed and takes the lock, then removes the
    // temporaries of earlier, killed runs. Throws Error(io) naming the directory when it
    // cannot be created or written, or when another process holds the lock.
    explicit OutputDirLock(const std::filesystem::path& dir);

    // How many stale temporaries taking the lock removed.
    int stale_removed() const noexcept { return stale_removed_; }

private:
    FdHandle fd_;
    int stale_removed_ = 0;
};

// Removes DIR's temporary outputs whose writing process no longer runs; returns how many.
int remove_stale_temporaries(const std::filesystem::path& dir);

} // namespace pimint
