#include "core/file_handle.hpp"

#include "pimint/core/error.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace pimint {
namespace {

[[noreturn]] void throw_open_error(const std::filesystem::path& path, int err) {
    std::string hint;
    if (err == ENOENT) {
        hint = "no such file; check the path";
    } else if (err == EACCES || err == EPERM) {
        hint = "permission denied; check the file's permissions";
    } else {
        hint = std::string("cannot open: ") + std::strerror(err);
    }
    throw Error(ErrorCategory::io, path.string(), hint);
}

} // namespace

FileHandle::FileHandle(const std::filesystem::path& path, const char* mode)
    : file_(std::fopen(path.c_str(), mode)) {
    if (file_ == nullptr) {
        throw_open_error(path, errno);
    }
}

FileHandle::~FileHandle() {
    if (file_ != nullptr) {
        std::fclose(file_);
    }
}

FdHandle::FdHandle(const std::filesystem::path& path, int flags, int mode)
    : fd_(::open(path.c_str(), flags | O_CLOEXEC, mode)) {
    if (fd_ < 0) {
        throw_open_error(path, errno);
    }
}

FdHandle::~FdHandle() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

void FdHandle::close(const std::filesystem::path& path) {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) {
        throw Error(ErrorCategory::io, path.string(),
                    std::string("closing failed: ") + std::strerror(errno));
    }
}

} // namespace pimint
