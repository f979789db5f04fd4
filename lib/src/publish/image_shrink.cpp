#include "publish/image_shrink.hpp"

#include "pimint/core/error.hpp"
#include "recipe/steps/support.hpp"

#include <fmt/format.h>

namespace pimint {
namespace {

constexpr const char* init_resize = "/usr/lib/raspi-config/init_resize.sh";
constexpr const char* resize2fs_once = "/etc/init.d/resize2fs_once";

// Looks for a program where Debian and Raspbian install them.
bool has_program(ImageFs& fs, const std::string& name) {
    for (const char* dir : {"/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/"}) {
        if (fs.exists(dir + name)) {
            return true;
        }
    }
    return false;
}

// The growth script: the root's block device found from its device number (a Pi's root
// is "/dev/root" in the mount table), its partition grown to the end of the disk in the
// partition table (the kernel is told with partx, as the partition is in use), then the
// mounted ext4 filesystem grown online.
constexpr const char* grow_script =
    R"sh(# Grows the root partition to the end of the card, then its filesystem.
dev=$(readlink -f "/sys/dev/block/$(mountpoint -d /)")
disk=/dev/$(basename "$(dirname "$dev")")
part=$(cat "$dev/partition")
echo ", +" | sfdisk --no-reread --no-tell-kernel -q -N "$part" "$disk"
partx -u --nr "$part" "$disk"
resize2fs "/dev/$(basename "$dev")"
)sh";

} // namespace

std::string arrange_first_boot_growth(ImageFs& fs, const Layout& layout,
                                      const std::filesystem::path& image) {
    const std::string cmdline_path = layout.boot_mount + "/cmdline.txt";
    const auto cmdline = fs.read_if_exists(cmdline_path);
    if (cmdline && fs.exists(init_resize) && fs.exists(resize2fs_once)) {
        const std::string entry = std::string("init=") + init_resize;
        if (cmdline->find(entry) != std::string::npos) {
            return "init_resize.sh";
        }
        // Another init= (a first-boot program of a later release) is not ours to replace.
        if (cmdline->find("init=") == std::string::npos) {
            std::string line = *cmdline;
            while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) {
                line.pop_back();
            }
            fs.write(cmdline_path, line + " " + entry + "\n");
            return "init_resize.sh";
        }
    }
    for (const char* program : {"sfdisk", "partx", "resize2fs", "mountpoint"}) {
        if (!has_program(fs, program)) {
            throw Error(ErrorCategory::image, image.string(),
                        fmt::format("cannot be shrunk: it has neither Raspbian's {} nor {} to "
                                    "grow its root at first boot; publish it without --shrink",
                                    init_resize, program));
        }
    }
    steps::install_first_boot_service(fs, "pimint-grow-root",
                                      "Grow the root filesystem to the whole card (pimint "
                                      "publish --shrink)",
                                      grow_script);
    return "pimint-grow-root.service";
}

const Partition& require_root_last(const PartitionTable& table, const std::filesystem::path& name) {
    const Partition* root = nullptr;
    for (const auto& p : table.partitions) {
        if (p.number == 2) {
            root = &p;
        }
    }
    if (root == nullptr) {
        throw Error(ErrorCategory::image, name.string(), "has no root partition (2) to shrink");
    }
    for (const auto& p : table.partitions) {
        if (p.offset() > root->offset()) {
            throw Error(ErrorCategory::image, name.string(),
                        fmt::format("cannot be shrunk: partition {} follows the root "
                                    "partition; publish it without --shrink",
                                    p.number));
        }
    }
    return *root;
}

void cut_after_root(const std::filesystem::path& image, const PartitionTable& table,
                    std::uint64_t root_sectors, const std::filesystem::path& name) {
    const Partition* root = &require_root_last(table, name);
    write_partition_sectors(image, root->number, root_sectors, name);
    std::error_code ec;
    std::filesystem::resize_file(image, (root->start_sector + root_sectors) * sector_size, ec);
    if (ec) {
        throw Error(ErrorCategory::io, name.string(), "cannot cut the image: " + ec.message());
    }
}

} // namespace pimint
