// One libguestfs appliance serving one or more image files. Starting the appliance
// costs seconds (far more without KVM); mounting and editing cost milliseconds, so
// callers add every image they need, launch once, and mount each in turn.
#pragma once

#include "pimint/image/image_fs.hpp"
#include "pimint/image/partition_table.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace pimint {

enum class Access { read_only, read_write };

// Where a mounted image keeps its partitions.
struct Layout {
    std::string root_device;  // e.g. /dev/sda2 inside the appliance
    std::string boot_device;  // e.g. /dev/sda1
    std::string boot_mount;   // "/boot" (stretch and earlier) or "/boot/firmware" (bookworm)
    std::string root_fs_type; // "ext4", ...
    // What the image's programs are built for, from its own libc (ELF header and ARM
    // build attributes): "armhf" or "arm64"; the oldest CPU its code runs on ("armv6kz",
    // "armv7", "armv8-a"); the multiarch directory of its libraries
    // ("arm-linux-gnueabihf", "aarch64-linux-gnu"). Empty when it has no libc.
    std::string architecture;
    std::string code_baseline;
    std::string multiarch;

    // "stretch" when boot is mounted at /boot, "bookworm" at /boot/firmware.
    std::string name() const;
};

// Receives short human-readable status lines ("starting the appliance (tcg)").
using StatusCallback = std::function<void(std::string_view)>;

class Appliance {
public:
    explicit Appliance(StatusCallback status = {});
    ~Appliance();
    Appliance(const Appliance&) = delete;
    Appliance& operator=(const Appliance&) = delete;

    // Checks the image's partition table on the host (so bad files fail before any
    // appliance starts) and queues it; returns its index for mount(). Errors name the
    // image by `name` when given: an output written under a temporary name is named by
    // its final one, the file the user asked for.
    int add_image(const std::filesystem::path& image, Access access,
                  const std::filesystem::path& name = {});
    // Queues an existing file of its final size whose content is not written yet (a
    // sparse file of zeros), read-write: the caller fills it on the host while the
    // appliance starts or works on other drives, then calls image_filled(). Copying an
    // image costs seconds, and so does a launch: this way they overlap.
    int add_pending_image(const std::filesystem::path& image, const std::filesystem::path& name);
    // Queues a new qcow2 overlay, read-write, whose unwritten clusters read from the raw
    // image `backing` (create_qcow2_overlay): the appliance writes only what changes into
    // `overlay`, and the image starts with `backing`'s partition table.
    int add_overlay_image(const std::filesystem::path& overlay,
                          const std::filesystem::path& backing, const std::filesystem::path& name);
    // The overlay `index`'s backing file, `backing`, written after this appliance started
    // (as a drive of its own, or by another), is final: the kernel forgets what it read
    // of the overlay at boot.
    // Called before anything else uses the drive. A writer that changes the backing
    // file's first sector must change it before the overlay is added, never after: the
    // kernel's partitions are then kept, as a re-read costs about half a second under TCG.
    void overlay_backing_final(int index, const std::filesystem::path& backing);
    // The pending image `index` now holds its content, written on the host into the same
    // file (not a new one: the appliance keeps the file it opened) at the same size,
    // beginning at `fill_started`. Checks its partition table and makes the appliance
    // forget what it read of the file before (its block caches and partitions). Before
    // that, the drive cannot be used. Cheapest when the file held its final partition
    // table (first sector) when it was added and was filled after launch(): the kernel
    // then already has the right partitions and the appliance does nothing.
    void image_filled(int index, std::chrono::steady_clock::time_point fill_started);

    // Queues several pending images in one drive, `file`: each drive costs the appliance's
    // start some 0.4 s under emulation (udev, LVM and the daemon each probe it), a
    // partition far less. Creates `file` sparse, sized for one image per entry of `names`
    // (each `model`'s size, at image_offset()), and writes a GPT into it that makes each
    // image's boot and root filesystems partitions of the drive. `model` (a Raspberry Pi
    // image, or a pending one holding its final partition table already) has the
    // partition table the images will have. Returns their indexes: pending images as
    // add_pending_image's, filled on the host at image_offset() (never touching the rest
    // of the file), then usable as any image except by grow_root().
    std::vector<int> add_pending_image_set(const std::filesystem::path& file,
                                           const std::vector<std::filesystem::path>& names,
                                           const std::filesystem::path& model);
    // Where image `index` starts in its file: 0, or its place in an image set's drive.
    std::uint64_t image_offset(int index) const;

    // Starts the appliance: with KVM when /dev/kvm works, otherwise (or when KVM fails,
    // which happens with a present but broken /dev/kvm) with TCG software emulation.
    void launch();
    // "kvm" or "tcg", once launched.
    const std::string& backend() const;
    double launch_seconds() const;

    // Grows partition 2 of image `index` to the end of its (already enlarged) file and
    // its ext4 filesystem with it. Unmounts first.
    void grow_root(int index);

    // Shrinks the ext4 root filesystem of image `index` to its minimum plus
    // `margin_bytes`, ending on a 4 MiB boundary of the disk, and returns the sector
    // count partition 2 should then have (its current one when that is no larger). Only
    // the filesystem changes: the caller rewrites the partition table and cuts the file
    // once the appliance has stopped. Unmounts first.
    std::uint64_t shrink_root(int index, std::uint64_t margin_bytes);

    // The label of filesystem `partition` (1 boot, 2 root) of image `index` ("boot",
    // "rootfs" on Raspbian); empty when it has none.
    std::string filesystem_label(int index, int partition);
    // The UUID of filesystem `partition` (1 boot, 2 root) of image `index`, as blkid shows
    // it ("1234-ABCD" for FAT); empty when it has none.
    std::string filesystem_uuid(int index, int partition);
    // Gives the root filesystem (ext4) of image `index` the UUID `uuid`. Unmounts first.
    void set_root_uuid(int index, const std::string& uuid);

    // Mounts image `index`: root (partition 2) at /, boot (partition 1) where the image's
    // fstab puts it. Unmounts whatever was mounted before.
    const Layout& mount(int index);
    // The files and the layout of the mounted image.
    ImageFs& fs();
    const Layout& layout() const;
    void unmount();
    // Sets the modification time of every file, directory and symlink changed through
    // fs() since mount() (and of the directories above them) that is newer than `epoch`
    // to `epoch`, as SOURCE_DATE_EPOCH asks: what pimint writes otherwise carries the
    // build's clock. Returns how many were changed.
    size_t clamp_mtimes(std::int64_t epoch);
    // Before launch(): lets writable drives pass discards through to their files. Only
    // for trim_free_space(); left off otherwise, as nothing else needs it.
    void enable_discard();
    // Discards the free space of the mounted image's root and boot filesystems (fstrim):
    // the image file gets holes there (with enable_discard()), so deleted data neither
    // ships nor compresses.
    void trim_free_space();

    // Syncs and stops the appliance, reporting any error (writes may be lost otherwise).
    // Must be called after writing; destruction alone does not report failures.
    void shutdown();

    // The partition table of image `index`; for an image of a set, with its partitions
    // where they are in the set's file, image_path().
    const PartitionTable& partition_table(int index) const;
    const std::filesystem::path& image_path(int index) const;
    // The name errors use for the image (see add_image).
    const std::filesystem::path& image_name(int index) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace pimint
