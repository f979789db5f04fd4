// What a target is (a card's block device, a reader with no card, a file) and whether
// writing it is safe, asked of the kernel before the first byte is written.
#include "cards/block_devices.hpp"
#include "core/file_handle.hpp"
#include "pimint/cards/burn.hpp"
#include "pimint/core/error.hpp"

#include <cerrno>
#include <fcntl.h>
#include <fmt/format.h>
#include <fstream>
#include <linux/fs.h>
#include <sstream>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace pimint {
namespace {

std::string dev_name(dev_t dev) {
    return fmt::format("{}:{}", major(dev), minor(dev));
}

std::string read_mountinfo() {
    std::ifstream in("/proc/self/mountinfo");
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string megabytes(std::uint64_t bytes) {
    return fmt::format("{} MB", bytes / 1000000);
}

} // namespace

CardTarget probe_target(const std::filesystem::path& target) {
    CardTarget t;
    t.path = target;
    struct stat st {};
    if (::stat(target.c_str(), &st) != 0) {
        if (errno == ENOENT &&
            std::filesystem::is_directory(target.parent_path().empty() ? std::filesystem::path(".")
                                                                       : target.parent_path())) {
            return t; // a new file
        }
        throw Error(ErrorCategory::target, target.string(),
                    "cannot be written: its directory does not exist; give a card's device "
                    "(/dev/sdX, /dev/mmcblkN) or a file in an existing directory");
    }
    if (S_ISREG(st.st_mode)) {
        t.size = static_cast<std::uint64_t>(st.st_size);
        return t;
    }
    if (!S_ISBLK(st.st_mode)) {
        throw Error(ErrorCategory::target, target.string(),
                    "is not a block device or a regular file; give a card's device (/dev/sdX, "
                    "/dev/mmcblkN) or a file name");
    }
    t.block_device = true;
    t.model = block_device_model(dev_name(st.st_rdev), "/sys/dev/block");
    // An empty reader cannot be opened (ENOMEDIUM) or reports size 0: no card yet.
    try {
        const FdHandle fd(target, O_RDONLY | O_NONBLOCK);
        std::uint64_t size = 0;
        if (::ioctl(fd.get(), BLKGETSIZE64, &size) == 0) {
            t.size = size;
        }
    } catch (const Error&) {
        t.size = 0;
    }
    return t;
}

void refuse_unsafe_target(const CardTarget& target, std::uint64_t image_size) {
    if (!target.block_device) {
        return; // a file grows to the image's size
    }
    struct stat st {};
    if (::stat(target.path.c_str(), &st) != 0) {
        throw Error(ErrorCategory::target, target.path.string(),
                    "has gone (the card was taken out?); put it back and try again");
    }
    const std::string why =
        unsafe_block_device(dev_name(st.st_rdev), read_mountinfo(), "/sys/dev/block");
    if (!why.empty()) {
        throw Error(ErrorCategory::target, target.path.string(), why);
    }
    if (target.size == 0) {
        throw Error(ErrorCategory::target, target.path.string(),
                    "holds no card; put one in the reader");
    }
    if (target.size < image_size) {
        throw Error(ErrorCategory::target, target.path.string(),
                    fmt::format("holds {} but the image needs {}; use a larger card",
                                megabytes(target.size), megabytes(image_size)));
    }
}

} // namespace pimint
