// Appliance: the launch and the libguestfs calls on whole drives: growing and shrinking
// the root, timestamps, labels and UUIDs, discard, shutdown.
#include "core/text.hpp"
#include "image/appliance_impl.hpp"
#include "image/filesystem_probe.hpp"
#include "image/gpt.hpp"
#include "image/guest_image_fs.hpp"
#include "image/guestfs_handle.hpp"
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

void Appliance::launch() {
    const auto t0 = std::chrono::steady_clock::now();
    LaunchedHandle launched =
        launch_handle([this](GuestfsHandle& h) { impl_->add_drives(h); },
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

void Appliance::enable_discard() {
    if (impl_->handle) {
        throw Error(ErrorCategory::internal, "appliance", "enable_discard() after launch()");
    }
    impl_->discard = true;
}

void Appliance::trim_free_space() {
    if (!impl_->mounted) {
        throw Error(ErrorCategory::internal, "appliance",
                    "trim_free_space() without a mounted image");
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

} // namespace pimint
