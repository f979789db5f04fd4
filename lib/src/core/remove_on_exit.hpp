// Deletes a host file or directory tree when the scope ends, however it ends: for
// build directories, temporary archives and private key directories.
#pragma once

#include <filesystem>

namespace pimint {

class RemoveOnExit {
public:
    explicit RemoveOnExit(std::filesystem::path path)
        : path_(std::move(path)) {}
    ~RemoveOnExit() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    RemoveOnExit(const RemoveOnExit&) = delete;
    RemoveOnExit& operator=(const RemoveOnExit&) = delete;

    const std::filesystem::path& path() const noexcept { return path_; }

private:
    std::filesystem::path path_;
};

} // namespace pimint
