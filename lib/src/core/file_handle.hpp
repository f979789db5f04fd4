// RAII owners of host file handles: a stdio FILE and a POSIX descriptor. Opening
// failures become pimint::Error naming the file.
#pragma once

#include <cstdio>
#include <filesystem>

namespace pimint {

class FileHandle {
public:
    FileHandle(const std::filesystem::path& path, const char* mode);
    ~FileHandle();
    FileHandle(const FileHandle&) = delete;
    FileHandle& operator=(const FileHandle&) = delete;

    std::FILE* get() const noexcept { return file_; }

private:
    std::FILE* file_;
};

class FdHandle {
public:
    FdHandle(const std::filesystem::path& path, int flags, int mode = 0);
    ~FdHandle();
    FdHandle(const FdHandle&) = delete;
    FdHandle& operator=(const FdHandle&) = delete;
    FdHandle(FdHandle&& other) noexcept
        : fd_(other.fd_) {
        other.fd_ = -1;
    }
    FdHandle& operator=(FdHandle&&) = delete;

    int get() const noexcept { return fd_; }
    // Closes now and reports a failed close (which can hide a failed write-back).
    void close(const std::filesystem::path& path);

private:
    int fd_;
};

} // namespace pimint
