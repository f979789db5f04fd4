// Before a card is written: the disk holding / is refused whichever of its devices is
// named, a card with a mounted partition or one held by device-mapper is refused, and an
// idle card is accepted; its model comes from sysfs. The machine is made up: a sysfs
// tree laid out as the kernel lays out /sys/dev/block, and mount tables as
// /proc/self/mountinfo prints them.
#include "cards/block_devices.hpp"
#include "disk_image.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>

using namespace pimint;
namespace fs = std::filesystem;

namespace {

// /sys/devices/<disk>/{dev,device/...,<partition>/{dev,partition}} and the
// /sys/dev/block/MAJOR:MINOR links to them.
struct FakeSysfs {
    test::TempDir dir;

    fs::path dev_block() const { return dir / "dev" / "block"; }

    fs::path disk(const std::string& name, const std::string& dev) {
        const auto d = dir / "devices" / name;
        fs::create_directories(d / "device");
        test::write_file(d / "dev", dev + "\n");
        link(dev, d);
        return d;
    }

    void partition(const fs::path& disk, const std::string& name, const std::string& dev) {
        const auto p = disk / name;
        fs::create_directories(p);
        test::write_file(p / "dev", dev + "\n");
        test::write_file(p / "partition", "1\n");
        link(dev, p);
    }

    void link(const std::string& dev, const fs::path& to) {
        fs::create_directories(dev_block());
        fs::create_directory_symlink(to, dev_block() / dev);
    }
};

std::string mount_line(const std::string& dev, const std::string& at) {
    return "36 35 " + dev + " / " + at + " rw,relatime shared:1 - ext4 /dev/x rw\n";
}

} // namespace

TEST_CASE("the disk holding / is refused by its disk and by its partitions") {
    FakeSysfs sys;
    const auto sda = sys.disk("sda", "8:0");
    sys.partition(sda, "sda1", "8:1");
    sys.partition(sda, "sda2", "8:2");
    const std::string mounts = mount_line("8:2", "/") + mount_line("8:1", "/boot/efi");
    for (const char* dev : {"8:0", "8:1", "8:2"}) {
        INFO(dev);
        CHECK(unsafe_block_device(dev, mounts, sys.dev_block()) ==
              "is the disk this computer runs from (it holds /); give the card's device");
    }
}

TEST_CASE("a card with a mounted partition is refused with the command that frees it") {
    FakeSysfs sys;
    const auto card = sys.disk("mmcblk0", "179:0");
    sys.partition(card, "mmcblk0p1", "179:1");
    sys.partition(card, "mmcblk0p2", "179:2");
    const std::string mounts = mount_line("8:2", "/") + mount_line("179:1", "/media/pi/bootfs");
    CHECK(unsafe_block_device("179:0", mounts, sys.dev_block()) ==
          "has a filesystem mounted at /media/pi/bootfs; unmount it first (umount "
          "/media/pi/bootfs)");
    CHECK(unsafe_block_device("179:0", mount_line("8:2", "/"), sys.dev_block()) == "");
}

TEST_CASE("a card held by device-mapper is refused") {
    FakeSysfs sys;
    const auto card = sys.disk("sdb", "8:16");
    sys.partition(card, "sdb1", "8:17");
    fs::create_directories(card / "sdb1" / "holders" / "dm-0");
    CHECK(unsafe_block_device("8:16", mount_line("8:2", "/"), sys.dev_block()) ==
          "is in use by dm-0 (device-mapper, RAID or LVM); release it first");
}

TEST_CASE("a card's model comes from sysfs, a loop device's from its backing file") {
    FakeSysfs sys;
    const auto sd = sys.disk("sdc", "8:32");
    test::write_file(sd / "device" / "model", "Generic SD/MMC  \n");
    sys.partition(sd, "sdc1", "8:33");
    CHECK(block_device_model("8:32", sys.dev_block()) == "Generic SD/MMC");
    CHECK(block_device_model("8:33", sys.dev_block()) == "Generic SD/MMC");
    const auto mmc = sys.disk("mmcblk1", "179:8");
    test::write_file(mmc / "device" / "name", "SD16G\n");
    CHECK(block_device_model("179:8", sys.dev_block()) == "SD16G");
    const auto loop = sys.disk("loop3", "7:3");
    fs::create_directories(loop / "loop");
    test::write_file(loop / "loop" / "backing_file", "/tmp/card.img\n");
    CHECK(block_device_model("7:3", sys.dev_block()) == "loop device of /tmp/card.img");
    CHECK(block_device_model("1:1", sys.dev_block()) == "");
}
