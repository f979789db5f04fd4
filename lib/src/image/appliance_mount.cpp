// Appliance: mounting an image's root and boot partitions where its fstab puts them,
// and the ImageFs the steps edit it through.
#include "core/text.hpp"
#include "image/appliance_impl.hpp"
#include "image/filesystem_probe.hpp"
#include "image/gpt.hpp"
#include "image/guest_image_fs.hpp"
#include "image/guestfs_handle.hpp"
#include "image/image_arch.hpp"
#include "pimint/core/error.hpp"
#include "pimint/core/files.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <fcntl.h>
#include <fmt/format.h>
#include <map>
#include <optional>
#include <unistd.h>
#include <vector>

namespace pimint {
namespace {

// Does this fstab entry name partition 1 of the image?
bool names_boot_partition(const text::FstabEntry& e, const std::string& disk_id) {
    return e.device == "PARTUUID=" + disk_id + "-01" || e.device == "/dev/mmcblk0p1" ||
           e.device == "LABEL=boot" || e.device == "LABEL=bootfs";
}

} // namespace

std::string Layout::name() const {
    return boot_mount == "/boot/firmware" ? "bookworm" : "stretch";
}

const Layout& Appliance::mount(int index) {
    auto& g = impl_->g();
    const Drive& drive = impl_->filled(index);
    unmount();
    const std::string ctx = drive.name.string();
    Layout layout;
    layout.root_device = impl_->partition_device(index, 2);
    layout.boot_device = impl_->partition_device(index, 1);

    const auto fs_type = [&](size_t n) {
        return n < drive.table.partitions.size()
                   ? probe_filesystem_type(drive.path, drive.table.partitions[n], drive.backing)
                   : std::string();
    };
    layout.root_fs_type = fs_type(1);
    if (layout.root_fs_type.rfind("ext", 0) != 0) {
        throw Error(ErrorCategory::image, ctx,
                    layout.root_fs_type.empty()
                        ? std::string("missing root filesystem: partition 2 holds no "
                                      "filesystem; the image is damaged or incomplete")
                        : fmt::format("not a Raspberry Pi layout: partition 2 holds {}, "
                                      "expected an ext4 root filesystem",
                                      layout.root_fs_type));
    }
    const bool ro = drive.access == Access::read_only;
    // With the type given, mount need not probe the filesystem: a tenth of a second
    // under emulation.
    const char* options = ro ? "ro" : "";
    const int rc = guestfs_mount_vfs(g.get(), options, layout.root_fs_type.c_str(),
                                     layout.root_device.c_str(), "/");
    if (rc == -1) {
        throw Error(ErrorCategory::image, ctx,
                    "root partition (2) cannot be mounted (" + g.last_error() +
                        "); the image may be damaged: check a copy with e2fsck -f");
    }
    impl_->mounted = index;
    impl_->fs = std::make_unique<GuestImageFs>(g, ctx);
    auto& fs = *impl_->fs;
    if (!fs.exists("/etc")) {
        throw Error(ErrorCategory::image, ctx,
                    "partition 2 has no /etc: not a Raspberry Pi OS root filesystem");
    }

    const ImageArch arch = read_image_arch(fs);
    layout.architecture = arch.architecture;
    layout.code_baseline = arch.code_baseline;
    layout.multiarch = arch.multiarch;

    const std::string disk_id = disk_id_hex(drive.table.disk_id);
    for (const auto& e : text::parse_fstab(fs.read_if_exists("/etc/fstab").value_or(""))) {
        if (names_boot_partition(e, disk_id) ||
            (e.fs_type == "vfat" && e.mount_point.starts_with("/boot"))) {
            layout.boot_mount = e.mount_point;
            break;
        }
    }
    if (layout.boot_mount.empty()) {
        // No fstab entry: Raspberry Pi OS from bookworm on uses /boot/firmware.
        layout.boot_mount = fs.exists("/boot/firmware") ? "/boot/firmware" : "/boot";
    }
    const std::string boot_type = fs_type(0);
    if (boot_type != "vfat") {
        throw Error(ErrorCategory::image, ctx,
                    fmt::format("not a Raspberry Pi layout: partition 1 holds {}, expected the "
                                "FAT boot filesystem",
                                boot_type.empty() ? "no filesystem" : boot_type));
    }
    if (!fs.exists(layout.boot_mount)) {
        if (ro) {
            throw Error(ErrorCategory::image, ctx,
                        fmt::format("the boot mount point {} named in /etc/fstab does not exist",
                                    layout.boot_mount));
        }
        fs.mkdir_p(layout.boot_mount);
    }
    fs.defer_mount(layout.boot_mount, [&g, ctx, options, boot_type, device = layout.boot_device,
                                       mount_point = layout.boot_mount] {
        if (guestfs_mount_vfs(g.get(), options, boot_type.c_str(), device.c_str(),
                              mount_point.c_str()) == -1) {
            throw Error(ErrorCategory::image, ctx,
                        "boot partition (1) cannot be mounted (" + g.last_error() +
                            "); the image may be damaged: check a copy with fsck.vfat");
        }
    });
    impl_->layout = std::move(layout);
    return impl_->layout;
}

ImageFs& Appliance::fs() {
    if (!impl_->fs || !impl_->mounted) {
        throw Error(ErrorCategory::internal, "appliance", "fs() without a mounted image");
    }
    return *impl_->fs;
}

const Layout& Appliance::layout() const {
    if (!impl_->mounted) {
        throw Error(ErrorCategory::internal, "appliance", "layout() without a mounted image");
    }
    return impl_->layout;
}

void Appliance::unmount() {
    if (!impl_->mounted) {
        return;
    }
    const bool writable =
        impl_->drives.at(static_cast<size_t>(*impl_->mounted)).access == Access::read_write;

    auto fs = std::move(impl_->fs);
    impl_->mounted.reset();
    auto& g = impl_->g();
    std::exception_ptr shadowed;
    if (writable) {
        try {
            fs->check_deferred_mount_point();
        } catch (...) {
            shadowed = std::current_exception(); // after unmounting, for a clean state
        }
    }
    // No sync after: unmounting writes everything back to the drives, and what the
    // appliance writes is in the image file at once for the host to read (its qemu
    // caches nothing of its own). A sync would only flush the host's disks, for every
    // drive, a third of a second each time under emulation. (An overlay's data is in its
    // file too, but qemu may keep its qcow2 cluster tables until it stops; whoever reads
    // an overlay while the appliance runs checks them again afterwards.)
    g.check(guestfs_umount_all(g.get()), "unmounting");
    if (shadowed) {
        std::rethrow_exception(shadowed);
    }
}

} // namespace pimint
