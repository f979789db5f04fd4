#include "image/qcow2_overlay.hpp"

#include "core/subprocess.hpp"
#include "image/disk_image_reader.hpp"
#include "image/guestfs_handle.hpp"
#include "pimint/core/error.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

namespace pimint {
namespace {

// Creates `overlay` on `backing_spec` (what the header names: a file name, or qemu's
// json: options) at `size`, the size of the raw file `backing`.
void create_overlay(const std::filesystem::path& overlay, const std::string& backing_spec,
                    const std::filesystem::path& backing, std::uint64_t size,
                    const std::filesystem::path& name) {
    std::error_code ec;
    std::filesystem::remove(overlay, ec);
    // libguestfs makes the file with qemu-img, without starting an appliance.
    const GuestfsHandle g;
    const std::string backing_name = backing.filename().string();
    // The size is the backing file's (libguestfs takes no other with a backing file).
    g.check(guestfs_disk_create(g.get(), overlay.c_str(), "qcow2", -1,
                                GUESTFS_DISK_CREATE_BACKINGFILE, backing_spec.c_str(),
                                GUESTFS_DISK_CREATE_BACKINGFORMAT, "raw", -1),
            fmt::format("{}: creating its overlay on {}", name.string(), backing_name));
    if (DiskImageReader::open(overlay, backing)->size() != size) {
        throw Error(ErrorCategory::internal, name.string(),
                    "the overlay's size is not its stage's");
    }
    // Private like every image pimint writes: a node holds its own private keys.
    if (::chmod(overlay.c_str(), 0600) != 0) {
        throw Error(ErrorCategory::io, name.string(), "cannot make the overlay private");
    }
}

void require_same_directory(const std::filesystem::path& overlay,
                            const std::filesystem::path& backing,
                            const std::filesystem::path& name) {
    if (backing.parent_path() != overlay.parent_path()) {
        throw Error(ErrorCategory::internal, name.string(),
                    "an overlay and its backing file must share a directory");
    }
}

} // namespace

void create_qcow2_overlay(const std::filesystem::path& overlay,
                          const std::filesystem::path& backing, std::uint64_t size,
                          const std::filesystem::path& name) {
    require_same_directory(overlay, backing, name);
    create_overlay(overlay, backing.filename().string(), backing, size, name);
}

void create_qcow2_overlay_on_unfinished(const std::filesystem::path& overlay,
                                        const std::filesystem::path& backing, std::uint64_t size,
                                        const std::filesystem::path& name) {
    require_same_directory(overlay, backing, name);
    const nlohmann::json spec = {{"driver", "raw"},
                                 {"file",
                                  {{"driver", "file"},
                                   {"filename", std::filesystem::absolute(backing).string()},
                                   {"locking", "off"}}}};
    create_overlay(overlay, "json:" + spec.dump(), backing, size, name);
}

void name_qcow2_backing(const std::filesystem::path& overlay, const std::filesystem::path& backing,
                        const std::filesystem::path& name) {
    require_same_directory(overlay, backing, name);
    try {
        run_capture({{"qemu-img", "rebase", "-u", "-f", "qcow2", "-F", "raw", "-b",
                      backing.filename().string(), overlay.string()},
                     {},
                     {}});
    } catch (const Error& e) {
        throw Error(ErrorCategory::appliance, name.string(),
                    fmt::format("naming its stage {} in its overlay: {}",
                                backing.filename().string(), e.message()));
    }
}

} // namespace pimint
