// Appliance: images added as drives, pending ones filled while it starts, image sets
// sharing one drive, and what each drive holds.
#include "core/text.hpp"
#include "image/appliance_impl.hpp"
#include "image/disk_image_reader.hpp"
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
#include <string_view>
#include <unistd.h>
#include <vector>

namespace pimint {

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
    if (is_qcow2(image)) {
        d.format = "qcow2"; // a node overlay: qemu reads its stage through it
    }
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

int Appliance::add_overlay_image(const std::filesystem::path& overlay,
                                 const std::filesystem::path& backing,
                                 const std::filesystem::path& name) {
    if (impl_->handle) {
        throw Error(ErrorCategory::internal, overlay.string(),
                    "add_overlay_image() after launch()");
    }
    PartitionTable table = read_partition_table(backing);
    require_pi_layout(table, backing);
    Drive& d = impl_->drives.emplace_back();
    d.path = overlay;
    d.name = name;
    d.table = std::move(table);
    d.format = "qcow2";
    d.backing = backing;
    d.first_sector = read_first_sector(backing);
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

void Appliance::overlay_backing_final(int index, const std::filesystem::path& backing) {
    auto& g = impl_->g();
    Drive& drive = impl_->image(index);
    if (std::string_view(drive.format) != "qcow2") {
        throw Error(ErrorCategory::internal, drive.name.string(), "not an overlay");
    }
    PartitionTable table = read_partition_table(backing);
    require_pi_layout(table, drive.name);
    const bool same_table =
        read_first_sector(backing) == drive.first_sector && !has_extended_partition(table);
    drive.table = std::move(table);
    drive.backing = backing;
    // The kernel read the backing file while it was being written: its partitions at
    // boot, and udev's probes of them, which it dropped when they closed the device (as
    // for a pending image, see image_filled). When the first sector held the final table
    // all along, what it scanned is current; otherwise re-reading the partitions makes it
    // scan again and drop all it cached.
    if (same_table) {
        return;
    }
    g.check(guestfs_blockdev_rereadpt(g.get(), impl_->device(index).c_str()),
            drive.name.string() + ": reading the partitions");
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
