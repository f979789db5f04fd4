#include "pimint/appliance.hpp"

#include "filesystem_probe.hpp"
#include "gpt.hpp"
#include "guest_image_fs.hpp"
#include "guestfs_handle.hpp"
#include "pimint/error.hpp"
#include "pimint/files.hpp"
#include "text.hpp"

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

struct Drive {
    std::filesystem::path path;
    std::filesystem::path name; // for errors
    Access access = Access::read_write;
    PartitionTable table;
    std::optional<std::uintmax_t> pending_size; // add_pending_image() until image_filled()
    std::string first_sector; // a pending image's at launch: the partitions the kernel saw
    // An image of a set (add_pending_image_set) lives in another drive's file, `holder`,
    // at `offset`; its partitions 1 and 2 are the holder's `first_partition` and the next.
    // The holder itself is no image.
    int holder = -1;
    std::uint64_t offset = 0;
    int first_partition = 1;
    bool holds_set = false;
};

// Does this fstab entry name partition 1 of the image?
bool names_boot_partition(const text::FstabEntry& e, const std::string& disk_id) {
    return e.device == "PARTUUID=" + disk_id + "-01" || e.device == "/dev/mmcblk0p1" ||
           e.device == "LABEL=boot" || e.device == "LABEL=bootfs";
}

} // namespace

std::string Layout::name() const {
    return boot_mount == "/boot/firmware" ? "bookworm" : "stretch";
}

struct Appliance::Impl {
    StatusCallback status;
    std::vector<Drive> drives;
    std::unique_ptr<GuestfsHandle> handle;
    std::unique_ptr<GuestImageFs> fs;
    std::string backend;
    double launch_seconds = 0;
    std::chrono::steady_clock::time_point launched_at; // when launch() returned
    bool discard = false; // enable_discard()
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
            h.check(guestfs_add_drive_opts(h.get(), d.path.c_str(), GUESTFS_ADD_DRIVE_OPTS_FORMAT,
                                           "raw", GUESTFS_ADD_DRIVE_OPTS_READONLY,
                                           d.access == Access::read_only ? 1 : 0,
                                           GUESTFS_ADD_DRIVE_OPTS_DISCARD,
                                           discard && d.access == Access::read_write
                                               ? "besteffort"
                                               : "disable",
                                           -1),
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

Appliance::Appliance(StatusCallback status)
    : impl_(std::make_unique<Impl>()) {
    impl_->status = std::move(status);
}

Appliance::~Appliance() = default;

int Appliance::add_image(const std::filesystem::path& image, Access access,
                         const std::filesystem::path& name) {
    if (impl_->handle) {
        throw Error(ErrorCategory::internal, image.string(), "add_image() after launch()");
    }
    PartitionTable table = read_partition_table(image);
    require_pi_layout(table, image);
    if (access == Access::read_write && ::access(image.c_str(), W_OK) != 0) {
        throw Error(ErrorCategory::io, image.string(), "not writable; check its permissions");
    }
    Drive& d = impl_->drives.emplace_back();
    d.path = image;
    d.name = name.empty() ? image : name;
    d.access = access;
    d.table = std::move(table);
    return static_cast<int>(impl_->drives.size()) - 1;
}

int Appliance::add_pending_image(const std::filesystem::path& image,
                                 const std::filesystem::path& name) {
    if (impl_->handle) {
        throw Error(ErrorCategory::internal, image.string(), "add_pending_image() after launch()");
    }
    if (::access(image.c_str(), W_OK) != 0) {
        throw Error(ErrorCategory::io, image.string(), "not writable; check its permissions");
    }
    Drive& d = impl_->drives.emplace_back();
    d.path = image;
    d.name = name;
    d.pending_size = std::filesystem::file_size(image);
    d.first_sector = read_first_sector(image);
    return static_cast<int>(impl_->drives.size()) - 1;
}

std::vector<int> Appliance::add_pending_image_set(const std::filesystem::path& file,
                                                  const std::vector<std::filesystem::path>& names,
                                                  const std::filesystem::path& model) {
    if (impl_->handle) {
        throw Error(ErrorCategory::internal, file.string(),
                    "add_pending_image_set() after launch()");
    }
    PartitionTable table = read_partition_table(model);
    require_pi_layout(table, model);
    if (table.partitions.size() != 2 || names.empty() || names.size() * 2 > gpt_max_partitions) {
        throw Error(ErrorCategory::internal, model.string(),
                    "an image set holds up to 64 images of two partitions each");
    }
    // Each image starts on a MiB boundary, as do its partitions within it: the file
    // systems stay aligned for reflinked copies in and out of the set.
    constexpr std::uint64_t mib = 1U << 20;
    const std::uint64_t stride = (table.file_size + mib - 1) / mib * mib;
    create_sparse_file(file, mib + stride * names.size() + mib);
    std::vector<GptPartition> partitions;
    for (size_t k = 0; k < names.size(); ++k) {
        for (const auto& p : table.partitions) {
            partitions.push_back(
                {p.number == 1 ? GptPartition::Kind::fat : GptPartition::Kind::linux,
                 (mib + stride * k) / sector_size + p.start_sector, p.sectors});
        }
    }
    write_gpt(file, partitions);
    const std::string first_sector = read_first_sector(model);
    const int holder = static_cast<int>(impl_->drives.size());
    Drive& set = impl_->drives.emplace_back();
    set.path = file;
    set.name = file;
    set.holds_set = true;
    std::vector<int> indexes;
    for (size_t k = 0; k < names.size(); ++k) {
        Drive d;
        d.path = file;
        d.name = names[k];
        d.table = table;
        d.pending_size = table.file_size;
        d.first_sector = first_sector;
        d.holder = holder;
        d.offset = mib + stride * k;
        d.first_partition = static_cast<int>(2 * k + 1);
        for (auto& p : d.table.partitions) {
            p.start_sector += d.offset / sector_size;
        }
        d.table.file_size = std::filesystem::file_size(file);
        impl_->drives.push_back(std::move(d));
        indexes.push_back(static_cast<int>(impl_->drives.size()) - 1);
    }
    return indexes;
}

std::uint64_t Appliance::image_offset(int index) const {
    return impl_->drives.at(static_cast<size_t>(index)).offset;
}

void Appliance::image_filled(int index, std::chrono::steady_clock::time_point fill_started) {
    auto& g = impl_->g();
    Drive& drive = impl_->image(index);
    if (!drive.pending_size) {
        throw Error(ErrorCategory::internal, drive.name.string(), "image_filled() twice");
    }
    if (drive.holder >= 0) {
        // Its partitions are the holder's, listed since before the launch by a table
        // the fill does not touch, and nothing holds them open: the kernel has nothing
        // stale of them. The image must have the layout it was added with.
        if (read_first_sector(drive.path, drive.offset) != drive.first_sector) {
            throw Error(ErrorCategory::internal, drive.name.string(),
                        "the image was filled with another partition table than its set's");
        }
        drive.pending_size.reset();
        return;
    }
    // The appliance sized the drive when it opened the file.
    if (std::filesystem::file_size(drive.path) != *drive.pending_size) {
        throw Error(ErrorCategory::internal, drive.name.string(),
                    "the image was filled at another size than it was added with");
    }
    PartitionTable table = read_partition_table(drive.path);
    require_pi_layout(table, drive.name);
    drive.table = std::move(table);
    drive.pending_size.reset();
    // The guest kernel read the file while it was empty or half-written (its partition
    // scan at boot, udev's probes). What it read of a disk or partition it drops when the
    // last user closes the device, and nothing holds a pending drive open: only the
    // partitions it scanned at boot may be stale. They are not when the file held its
    // final table from before the launch until the fill, which began after the boot.
    if (fill_started > impl_->launched_at && read_first_sector(drive.path) == drive.first_sector &&
        !has_extended_partition(drive.table)) {
        return;
    }
    // Re-reading the partition table makes the kernel (since 5.x) write back and drop
    // the disk's and each old partition's caches before it scans again.
    const std::string device = impl_->device(index);
    const std::string ctx = drive.name.string();
    g.check(guestfs_blockdev_rereadpt(g.get(), device.c_str()), ctx + ": reading the partitions");
}

void Appliance::launch() {
    const auto t0 = std::chrono::steady_clock::now();
    LaunchedHandle launched = launch_handle(
        [this](GuestfsHandle& h) { impl_->add_drives(h); },
        [this](std::string_view message) { impl_->say(message); });
    impl_->handle = std::move(launched.handle);
    impl_->handle->watch(appliance_call_limit());
    impl_->backend = launched.tcg ? "tcg" : "kvm";
    impl_->launched_at = std::chrono::steady_clock::now();
    impl_->launch_seconds = std::chrono::duration<double>(impl_->launched_at - t0).count();
    impl_->say(fmt::format("appliance up ({}, {:.1f} s)", impl_->backend, impl_->launch_seconds));
}

const std::string& Appliance::backend() const {
    return impl_->backend;
}
double Appliance::launch_seconds() const {
    return impl_->launch_seconds;
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
                   ? probe_filesystem_type(drive.path, drive.table.partitions[n])
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

void Appliance::grow_root(int index) {
    auto& g = impl_->g();
    Drive& drive = impl_->filled(index);
    unmount();
    const std::string ctx = drive.name.string();
    if (drive.holder >= 0) {
        throw Error(ErrorCategory::internal, drive.name.string(),
                    "the root partition of an image in a set cannot grow");
    }
    const std::string device = impl_->device(index);
    const std::string root = impl_->partition_device(index, 2);
    impl_->say("growing the root partition");
    const auto p2 = std::find_if(drive.table.partitions.begin(), drive.table.partitions.end(),
                                 [](const Partition& p) { return p.number == 2; });
    // The partition table is edited in the file on the host (one field, so the disk
    // signature that PARTUUIDs name stays), and the appliance reads it again: faster
    // under emulation than partitioning tools in the appliance. Callers that make the
    // file can edit it before the appliance reads it at all (extend_root_partition).
    if (p2->offset() + p2->size() < std::filesystem::file_size(drive.path)) {
        extend_root_partition(drive.path, drive.name);
        drive.table = read_partition_table(drive.path);
        g.check(guestfs_blockdev_rereadpt(g.get(), device.c_str()),
                ctx + ": reading the partitions");
    }
    // Grown while mounted (online), as Raspberry Pi OS does at first boot: no full check
    // first, which an offline resize2fs insists on.
    g.check(guestfs_mount(g.get(), root.c_str(), "/"), ctx + ": mounting the root filesystem");
    const int rc = guestfs_resize2fs(g.get(), root.c_str());
    const std::string error = rc == -1 ? g.last_error() : std::string();
    g.check(guestfs_umount_all(g.get()), ctx);
    if (rc == -1) {
        throw Error(ErrorCategory::appliance, ctx, "growing the root filesystem failed: " + error);
    }
}

std::uint64_t Appliance::shrink_root(int index, std::uint64_t margin_bytes) {
    auto& g = impl_->g();
    const Drive& drive = impl_->filled(index);
    unmount();
    const std::string ctx = drive.name.string();
    const std::string root = impl_->partition_device(index, 2);
    const Partition& p2 =
        *std::find_if(drive.table.partitions.begin(), drive.table.partitions.end(),
                      [](const Partition& p) { return p.number == 2; });
    const auto block_size_and_count = [&] {
        const auto fields = take_string_list(guestfs_tune2fs_l(g.get(), root.c_str()));
        std::uint64_t size = 0;
        std::uint64_t count = 0;
        for (size_t i = 0; i + 1 < fields.size(); i += 2) {
            if (fields[i] == "Block size") {
                size = std::stoull(fields[i + 1]);
            } else if (fields[i] == "Block count") {
                count = std::stoull(fields[i + 1]);
            }
        }
        if (size == 0 || count == 0) {
            throw Error(ErrorCategory::image, ctx + ": root filesystem",
                        "tune2fs shows no block size or count; is it ext4?");
        }
        return std::pair{size, count};
    };
    impl_->say("checking the root filesystem");
    g.check(guestfs_e2fsck(g.get(), root.c_str(), GUESTFS_E2FSCK_FORCEALL, 1, -1),
            ctx + ": checking the root filesystem");
    impl_->say("shrinking the root filesystem to its minimum");
    g.check(guestfs_resize2fs_M(g.get(), root.c_str()), ctx + ": shrinking the root filesystem");
    const auto [block, minimum] = block_size_and_count();
    // The partition ends on a 4 MiB boundary of the disk, as imaging tools align them;
    // the filesystem fills it.
    constexpr std::uint64_t align = (4U << 20) / sector_size;
    const std::uint64_t wanted = (minimum * block + margin_bytes + sector_size - 1) / sector_size;
    const std::uint64_t end = (p2.start_sector + wanted + align - 1) / align * align;
    const std::uint64_t sectors = std::min(end - p2.start_sector, p2.sectors);
    const std::uint64_t fs_bytes = sectors * sector_size / block * block;
    g.check(guestfs_resize2fs_size(g.get(), root.c_str(), static_cast<std::int64_t>(fs_bytes)),
            ctx + ": resizing the root filesystem");
    g.check(guestfs_sync(g.get()), ctx);
    return sectors;
}

size_t Appliance::clamp_mtimes(std::int64_t epoch) {
    auto& g = impl_->g();
    if (!impl_->mounted || !impl_->fs) {
        throw Error(ErrorCategory::internal, "appliance", "clamp_mtimes() without a mounted image");
    }
    const std::string ctx = impl_->drives.at(static_cast<size_t>(*impl_->mounted)).name.string();
    impl_->say("dating what was written at SOURCE_DATE_EPOCH");
    // Only what pimint touched can be newer (the base image's files are what they are).
    // Stats go one directory at a time (lstatnslist takes names within one directory):
    // per-file calls cost milliseconds each under emulation.
    std::map<std::string, std::vector<std::string>> by_dir;
    for (const auto& path : impl_->fs->touched()) {
        const std::filesystem::path p(path);
        by_dir[p.has_relative_path() ? p.parent_path().string() : "/"].push_back(
            p.has_relative_path() ? p.filename().string() : ".");
    }
    size_t changed = 0;
    constexpr size_t batch = 1000;
    for (auto& [dir, names] : by_dir) {
        for (size_t first = 0; first < names.size(); first += batch) {
            std::vector<char*> argv;
            for (size_t i = first; i < std::min(names.size(), first + batch); ++i) {
                argv.push_back(names[i].data());
            }
            argv.push_back(nullptr);
            guestfs_statns_list* stats = guestfs_lstatnslist(g.get(), dir.c_str(), argv.data());
            g.check(stats == nullptr ? -1 : 0, ctx + ": reading the times of " + dir);
            std::vector<std::string> newer;
            for (size_t i = 0; i < stats->len; ++i) {
                const auto& st = stats->val[i];
                // st_ino -1: removed since
                if (st.st_ino != -1 && (st.st_mtime_sec > epoch ||
                                        (st.st_mtime_sec == epoch && st.st_mtime_nsec != 0))) {
                    newer.push_back((std::filesystem::path(dir) / names[first + i])
                                        .lexically_normal()
                                        .string());
                }
            }
            guestfs_free_statns_list(stats);
            for (const auto& path : newer) {
                // atime is left as it is (-2): only mtime is part of a file's published state.
                g.check(guestfs_utimens(g.get(), path.c_str(), 0, -2, epoch, 0),
                        ctx + ": dating " + path);
            }
            changed += newer.size();
        }
    }
    return changed;
}

std::string Appliance::filesystem_label(int index, int partition) {
    auto& g = impl_->g();
    impl_->filled(index);
    const std::string device = impl_->partition_device(index, partition);
    return take_string(guestfs_vfs_label(g.get(), device.c_str()));
}

std::string Appliance::filesystem_uuid(int index, int partition) {
    auto& g = impl_->g();
    const std::string ctx = impl_->filled(index).name.string();
    const std::string device = impl_->partition_device(index, partition);
    char* uuid = guestfs_vfs_uuid(g.get(), device.c_str());
    g.check(uuid == nullptr ? -1 : 0, ctx);
    std::string out = uuid;
    std::free(uuid);
    return out;
}

void Appliance::set_root_uuid(int index, const std::string& uuid) {
    auto& g = impl_->g();
    const std::string ctx = impl_->filled(index).name.string();
    unmount();
    const std::string root = impl_->partition_device(index, 2);
    // tune2fs changes the UUID of a metadata_csum filesystem only after a full check.
    g.check(guestfs_e2fsck(g.get(), root.c_str(), GUESTFS_E2FSCK_FORCEALL, 1, -1),
            ctx + ": checking the root filesystem");
    g.check(guestfs_set_uuid(g.get(), root.c_str(), uuid.c_str()),
            ctx + ": setting the root filesystem UUID");
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
    // drive, a third of a second each time under emulation.
    g.check(guestfs_umount_all(g.get()), "unmounting");
    if (shadowed) {
        std::rethrow_exception(shadowed);
    }
}

void Appliance::enable_discard() {
    if (impl_->handle) {
        throw Error(ErrorCategory::internal, "appliance", "enable_discard() after launch()");
    }
    impl_->discard = true;
}

void Appliance::trim_free_space() {
    if (!impl_->mounted) {
        throw Error(ErrorCategory::internal, "appliance", "trim_free_space() without a mounted image");
    }
    auto& g = impl_->g();
    for (const std::string& mount_point : {std::string("/"), impl_->layout.boot_mount}) {
        impl_->fs->mount_deferred();
        g.check(guestfs_fstrim(g.get(), mount_point.c_str(), -1), "discarding free space");
    }
}

void Appliance::shutdown() {
    if (!impl_->handle) {
        return;
    }
    unmount();
    // Unmounted, everything is in the image files (see unmount()). libguestfs would sync
    // before stopping (autosync), which flushes every drive's file to the host's disk:
    // over a second with many drives under emulation. Outputs are flushed to disk as they
    // are committed instead (AtomicOutput::commit).
    guestfs_set_autosync(impl_->handle->get(), 0);
    impl_->handle->shutdown();
    impl_->handle.reset();
}

const PartitionTable& Appliance::partition_table(int index) const {
    return impl_->drives.at(static_cast<size_t>(index)).table;
}

const std::filesystem::path& Appliance::image_path(int index) const {
    return impl_->drives.at(static_cast<size_t>(index)).path;
}

const std::filesystem::path& Appliance::image_name(int index) const {
    return impl_->drives.at(static_cast<size_t>(index)).name;
}

} // namespace pimint
