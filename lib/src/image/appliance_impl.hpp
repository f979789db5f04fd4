// What the three files of Appliance share (appliance_drives.cpp: adding and filling
// drives; appliance_calls.cpp: the launch and the libguestfs calls on whole drives;
// appliance_mount.cpp: mounting an image's partitions): its drives and its handle.
#pragma once

#include "image/guest_image_fs.hpp"
#include "image/guestfs_handle.hpp"
#include "pimint/core/error.hpp"
#include "pimint/image/appliance.hpp"

#include <chrono>
#include <filesystem>
#include <fmt/format.h>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pimint {

struct Drive {
    std::filesystem::path path;
    std::filesystem::path name; // for errors
    Access access = Access::read_write;
    PartitionTable table;
    std::optional<std::uintmax_t> pending_size; // add_pending_image() until image_filled()
    // A pending image's, or an overlay's backing file's, when added: the partitions the
    // kernel saw at boot.
    std::string first_sector;
    // An image of a set (add_pending_image_set) lives in another drive's file, `holder`,
    // at `offset`; its partitions 1 and 2 are the holder's `first_partition` and the next.
    // The holder itself is no image.
    int holder = -1;
    std::uint64_t offset = 0;
    int first_partition = 1;
    bool holds_set = false;
    const char* format = "raw"; // "qcow2" for an overlay
    // An overlay's backing file as add_overlay_image() was told, read on the host instead
    // of the file the overlay names (which may still be a temporary name).
    std::filesystem::path backing;
};

struct Appliance::Impl {
    StatusCallback status;
    std::vector<Drive> drives;
    std::unique_ptr<GuestfsHandle> handle;
    std::unique_ptr<GuestImageFs> fs;
    std::string backend;
    double launch_seconds = 0;
    std::chrono::steady_clock::time_point launched_at; // when launch() returned
    bool discard = false;                              // enable_discard()
    std::optional<int> mounted;
    Layout layout;

    void say(std::string_view message) const {
        if (status) {
            status(message);
        }
    }

    void add_drives(GuestfsHandle& h) const {
        for (const auto& d : drives) {
            if (d.holder >= 0) {
                continue; // in its holder's file
            }
            // With discard, freed blocks become holes in the file (trim_free_space);
            // "besteffort" keeps qemus that cannot pass discards through working.
            h.check(guestfs_add_drive_opts(
                        h.get(), d.path.c_str(), GUESTFS_ADD_DRIVE_OPTS_FORMAT, d.format,
                        GUESTFS_ADD_DRIVE_OPTS_READONLY, d.access == Access::read_only ? 1 : 0,
                        GUESTFS_ADD_DRIVE_OPTS_DISCARD,
                        discard && d.access == Access::read_write ? "besteffort" : "disable", -1),
                    d.name.string());
        }
    }

    GuestfsHandle& g() const {
        if (!handle) {
            throw Error(ErrorCategory::internal, "appliance", "used before launch()");
        }
        return *handle;
    }

    Drive& image(int index) {
        if (index < 0 || index >= static_cast<int>(drives.size()) ||
            drives[static_cast<size_t>(index)].holds_set) {
            throw Error(ErrorCategory::internal, "appliance", fmt::format("no image {}", index));
        }
        return drives[static_cast<size_t>(index)];
    }

    // Image `index`, which must hold its content (no longer pending).
    Drive& filled(int index) {
        Drive& d = image(index);
        if (d.pending_size) {
            throw Error(ErrorCategory::internal, d.name.string(), "used before image_filled()");
        }
        return d;
    }

    // The API's name for drive `index`: libguestfs names drives added before the launch
    // /dev/sda, /dev/sdb ... in the order they were added (whatever the appliance calls
    // them), as its add_drive documents. Asking (list_devices) would cost a tenth of a
    // second per drive under emulation.
    std::string device(int index) const {
        if (index < 0 || index >= static_cast<int>(drives.size())) {
            throw Error(ErrorCategory::internal, "appliance", fmt::format("no drive {}", index));
        }
        if (drives[static_cast<size_t>(index)].holder >= 0) {
            return device(drives[static_cast<size_t>(index)].holder);
        }
        // Images of a set are no drives of their own.
        const auto added = std::count_if(drives.begin(), drives.begin() + index,
                                         [](const Drive& d) { return d.holder < 0; });
        std::string letters;
        for (auto n = added + 1; n > 0; n = (n - 1) / 26) {
            letters.insert(letters.begin(), static_cast<char>('a' + (n - 1) % 26));
        }
        return "/dev/sd" + letters;
    }

    // The API's name for partition `number` (1 boot, 2 root) of image `index`.
    std::string partition_device(int index, int number) const {
        const Drive& d = drives.at(static_cast<size_t>(index));
        return device(index) + std::to_string(d.first_partition + number - 1);
    }
};

} // namespace pimint
