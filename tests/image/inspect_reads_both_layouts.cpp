// Inspects the generated test image in both layouts through one appliance, as pimint
// does for many images, and checks every fact against what make-test-image wrote; then
// the 64-bit trixie test image.
#include "test_image.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <pimint/core/files.hpp>
#include <pimint/image/appliance.hpp>
#include <pimint/image/inspect.hpp>

using namespace pimint;

TEST_CASE("inspect reads the Raspbian facts of the stretch and bookworm layouts") {
    const auto stretch = test::test_image("stretch");
    const auto bookworm = test::test_image("bookworm");
    const std::string stretch_sum = sha256_file(stretch);
    const std::string bookworm_sum = sha256_file(bookworm);

    Appliance appliance;
    const int s = appliance.add_image(stretch, Access::read_only);
    const int b = appliance.add_image(bookworm, Access::read_only);
    appliance.launch();
    MESSAGE("appliance backend " << appliance.backend() << ", launch " << appliance.launch_seconds()
                                 << " s");
    CHECK((appliance.backend() == "kvm" || appliance.backend() == "tcg"));

    const Layout stretch_layout = appliance.mount(s);
    CHECK(stretch_layout.boot_mount == "/boot");
    CHECK(stretch_layout.name() == "stretch");
    const ImageInfo info = inspect_mounted(appliance, s, stretch_layout);

    const Layout bookworm_layout = appliance.mount(b);
    CHECK(bookworm_layout.boot_mount == "/boot/firmware");
    const ImageInfo binfo = inspect_mounted(appliance, b, bookworm_layout);
    appliance.shutdown();

    // partitions
    {
        REQUIRE(info.partitions.size() == 2);
        CHECK(info.disk_id == "9c5e2a17");
        CHECK(info.partitions[0].offset == 8192 * 512);
        CHECK(info.partitions[0].fs_type == "vfat");
        CHECK(info.partitions[0].label == "boot");
        CHECK(info.partitions[0].mount_point == "/boot");
        CHECK(info.partitions[1].fs_type == "ext4");
        CHECK(info.partitions[1].label == "rootfs");
        CHECK(info.partitions[1].fs_free_bytes > 100ULL << 20);
        CHECK(info.partitions[1].fs_free_bytes < info.partitions[1].fs_total_bytes);
        CHECK(binfo.partitions[0].mount_point == "/boot/firmware");
        CHECK(binfo.layout == "bookworm");
    }
    // system facts
    {
        CHECK(info.os_id == "debian");
        CHECK(info.os_name.find("Debian GNU/Linux") != std::string::npos);
        CHECK(info.hostname == "raspberrypi");
        // Debian's armhf libc, which the test image has, is built for ARMv7.
        CHECK(info.architecture == "armhf");
        CHECK(info.code_baseline == "armv7");
        REQUIRE(info.default_user.has_value());
        CHECK(info.default_user->name == "pi");
        CHECK(info.default_user->uid == 1000);
        CHECK(info.default_user->gid == 1000);
        CHECK(info.default_user->home == "/home/pi");
        CHECK(info.ssh_installed);
        CHECK_FALSE(info.ssh_enabled);
        CHECK(info.locale == "en_GB.UTF-8");
        REQUIRE(info.locales_generated.size() == 1);
        CHECK(info.locales_generated[0] == "en_GB.UTF-8 UTF-8");
        CHECK(info.keyboard_layout == "gb");
        CHECK(info.keyboard_model == "pc105");
        CHECK(info.timezone == "Europe/London");
        CHECK(info.wifi_country.empty());
    }
    // json
    {
        const auto j = nlohmann::json::parse(to_json(binfo));
        CHECK(j["layout"] == "bookworm");
        CHECK(j["hostname"] == "raspberrypi");
        CHECK(j["architecture"] == "armhf");
        CHECK(j["code_baseline"] == "armv7");
        CHECK(j["default_user"]["name"] == "pi");
        CHECK(j["ssh"]["enabled"] == false);
        CHECK(j["partitions"][0]["label"] == "boot");
    }
    // the images are unchanged
    {
        CHECK(sha256_file(stretch) == stretch_sum);
        CHECK(sha256_file(bookworm) == bookworm_sum);
    }
}

TEST_CASE("inspect reads a 64-bit trixie image as arm64, with no user") {
    const auto trixie = test::test_image("trixie", "arm64");
    const ImageInfo info = inspect_image(trixie);
    CHECK(info.architecture == "arm64");
    CHECK(info.code_baseline == "armv8-a");
    CHECK(info.os_codename == "trixie");
    CHECK(info.boot_mount == "/boot/firmware");
    CHECK(info.partitions.at(0).label == "bootfs");
    CHECK_FALSE(info.default_user.has_value());
    const auto j = nlohmann::json::parse(to_json(info));
    CHECK(j["architecture"] == "arm64");
    CHECK(j["code_baseline"] == "armv8-a");
}
