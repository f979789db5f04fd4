#include "image/qcow2_overlay.hpp"

#include "image/disk_image_reader.hpp"
#include "image/guestfs_handle.hpp"
#include "pimint/core/error.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

namespace pimint {

void create_qcow2_overlay(const std::filesystem::path& overlay,
                          const std::filesystem::path& backing, std::uint64_t size,
                          const std::filesystem::path& name) {
    if (backing.parent_path() != overlay.parent_path()) {
        throw Error(ErrorCategory::internal, name.string(),
                    "an overlay and its backing file must share a directory");
    }
    std::error_code ec;
    std::filesystem::remove(overlay, ec);
    // libguestfs makes the file with qemu-img, without starting an appliance.
    const GuestfsHandle g;
    const std::string backing_name = backing.filename().string();
    // The size is the backing file's (libguestfs takes no other with a backing file).
    g.check(guestfs_disk_create(g.get(), overlay.c_str(), "qcow2", -1,
                                GUESTFS_DISK_CREATE_BACKINGFILE, backing_name.c_str(),
                                GUESTFS_DISK_CREATE_BACKINGFORMAT, "raw", -1),
            fmt::format("{}: creating its overlay on {}", name.string(), backing_name));
    if (DiskImageReader::open(overlay)->size() != size) {
        throw Error(ErrorCategory::internal, name.string(),
                    "the overlay's size is not its stage's");
    }
    // Private like every image pimint writes: a node holds its own private keys.
    if (::chmod(overlay.c_str(), 0600) != 0) {
        throw Error(ErrorCategory::io, name.string(), "cannot make the overlay private");
    }
}

} // namespace pimint
