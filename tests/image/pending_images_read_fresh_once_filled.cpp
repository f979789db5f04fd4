// Pending images (Appliance::add_pending_image) are written on the host after the
// appliance opened them. Whatever the guest kernel saw of them at launch (an empty file,
// or only the partition table written beforehand), once filled they must show their
// content, and what is written into them must reach the file.
#include "temp_dir.hpp"
#include "test_image.hpp"

#include <chrono>
#include <doctest/doctest.h>
#include <pimint/core/error.hpp>
#include <pimint/core/files.hpp>
#include <pimint/image/appliance.hpp>
#include <pimint/image/partition_table.hpp>

using namespace pimint;
using Clock = std::chrono::steady_clock;

TEST_CASE("pending images read back their content however the kernel saw them at launch") {
    const auto base = test::test_image("stretch");
    test::TempDir dir;
    const auto size = std::filesystem::file_size(base);
    struct Pending {
        std::string name;
        bool seeded;        // holds its final partition table from before the launch
        bool before_launch; // filled before the launch
        std::filesystem::path path;
        int drive = 0;
        Clock::time_point started;
    };
    std::vector<Pending> images = {{"seeded", true, false, {}, 0, {}},
                                   {"empty", false, false, {}, 0, {}},
                                   {"early", true, true, {}, 0, {}}};
    Appliance appliance;
    for (auto& p : images) {
        p.path = dir / (p.name + ".img");
        create_sparse_file(p.path, size);
        if (p.seeded) {
            write_first_sector(p.path, read_first_sector(base), p.path);
        }
        p.drive = appliance.add_pending_image(p.path, p.path);
    }
    for (auto& p : images) {
        if (p.before_launch) {
            p.started = Clock::now();
            sparse_copy(base, p.path);
        }
    }
    appliance.launch();
    for (auto& p : images) {
        if (!p.before_launch) {
            p.started = Clock::now();
            sparse_copy(base, p.path);
        }
    }
    for (auto& p : images) {
        CAPTURE(p.name);
        appliance.image_filled(p.drive, p.started);
        appliance.mount(p.drive);
        ImageFs& fs = appliance.fs();
        CHECK(fs.read("/etc/hostname") == "raspberrypi\n");
        // The boot partition, mounted on first use.
        CHECK(fs.read("/boot/cmdline.txt").find("root=") != std::string::npos);
        fs.write("/etc/hostname", p.name + "\n");
        fs.write("/boot/" + p.name, "");
    }
    appliance.shutdown();

    Appliance check;
    for (auto& p : images) {
        p.drive = check.add_image(p.path, Access::read_only);
    }
    check.launch();
    for (const auto& p : images) {
        CAPTURE(p.name);
        check.mount(p.drive);
        CHECK(check.fs().read("/etc/hostname") == p.name + "\n");
        CHECK(check.fs().exists("/boot/" + p.name));
    }
    check.shutdown();
}

TEST_CASE("a write through a symlink into the unmounted boot partition's mount point fails") {
    const auto base = test::test_image("stretch");
    test::TempDir dir;
    const auto copy = dir / "node.img";
    sparse_copy(base, copy);
    Appliance appliance;
    const int i = appliance.add_image(copy, Access::read_write);
    appliance.launch();
    appliance.mount(i);
    // Nothing under /boot used: the boot partition is not mounted, and the write ends up
    // in the root filesystem's empty /boot, which the partition hides at boot.
    appliance.fs().symlink("/boot/config-copy.txt", "/etc/config-link");
    appliance.fs().write("/etc/config-link", "gpu_mem=16\n");
    CHECK_THROWS_AS(appliance.unmount(), Error);
    // Unmounted all the same: the image can be mounted again.
    appliance.mount(i);
    CHECK(appliance.fs().exists("/boot/cmdline.txt"));
    appliance.shutdown();
}

TEST_CASE("images of a set share one drive, each its own, and copy out whole") {
    const auto base = test::test_image("stretch");
    test::TempDir dir;
    const std::vector<std::string> names = {"node1", "node2", "node3"};
    std::vector<std::filesystem::path> outputs;
    for (const auto& n : names) {
        outputs.push_back(dir / (n + ".img"));
    }
    const auto size = std::filesystem::file_size(base);
    Appliance appliance;
    const auto set = dir / "set.img";
    const std::vector<int> images = appliance.add_pending_image_set(set, outputs, base);
    REQUIRE(images.size() == names.size());
    // The first image is written while the appliance starts, the others after.
    sparse_copy_range(base, 0, size, set, appliance.image_offset(images[0]));
    const auto early = Clock::now();
    appliance.launch();
    for (size_t k = 0; k < names.size(); ++k) {
        CAPTURE(names[k]);
        Clock::time_point started = early;
        if (k > 0) {
            started = Clock::now();
            sparse_copy_range(base, 0, size, set, appliance.image_offset(images[k]));
        }
        appliance.image_filled(images[k], started);
        appliance.mount(images[k]);
        ImageFs& fs = appliance.fs();
        CHECK(fs.read("/etc/hostname") == "raspberrypi\n");
        fs.write("/etc/hostname", names[k] + "\n");
        fs.write("/boot/" + names[k], "");
    }
    appliance.shutdown();

    Appliance check;
    std::vector<int> copies;
    for (size_t k = 0; k < names.size(); ++k) {
        sparse_copy_range(set, appliance.image_offset(images[k]), size, outputs[k], 0);
        CHECK(std::filesystem::file_size(outputs[k]) == size);
        copies.push_back(check.add_image(outputs[k], Access::read_only));
    }
    check.launch();
    for (size_t k = 0; k < names.size(); ++k) {
        CAPTURE(names[k]);
        check.mount(copies[k]);
        CHECK(check.fs().read("/etc/hostname") == names[k] + "\n");
        for (const auto& other : names) {
            CHECK(check.fs().exists("/boot/" + other) == (other == names[k]));
        }
    }
    check.shutdown();
}
