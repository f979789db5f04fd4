// Deletes a host file or directory tree when the scope ends, however it ends: for
// build directories, temporary archives and private key directories.
#pragma once

#include "pimint/core/error.hpp"

#include <cstdlib>
#include <filesystem>
#include <string>

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

// A new directory /tmp/pimint-NAME.XXXXXX, mode 0700 (mkdtemp's), removed when the scope
// ends: for key generation, apt's private root, unpacked image files.
class PrivateTempDir {
public:
    explicit PrivateTempDir(const std::string& name)
        : remove_(make(name)) {}
    const std::filesystem::path& path() const noexcept { return remove_.path(); }

private:
    static std::filesystem::path make(const std::string& name) {
        std::string templ = "/tmp/pimint-" + name + ".XXXXXX";
        if (::mkdtemp(templ.data()) == nullptr) {
            throw Error(ErrorCategory::io, templ, "cannot create a private temporary directory");
        }
        return templ;
    }
    RemoveOnExit remove_;
};

} // namespace pimint
