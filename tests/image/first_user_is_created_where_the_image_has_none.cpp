// Raspberry Pi OS has shipped without a default user since 2022: the shipped single-node
// recipe, applied to the trixie test image (which has none), creates pi as the image's
// own first-user set-up would, and a named user likewise; an image that has the user
// keeps it untouched.
#include "temp_dir.hpp"
#include "test_image.hpp"

#include <doctest/doctest.h>
#include <pimint/image/appliance.hpp>
#include <pimint/recipe/apply.hpp>

using namespace pimint;

namespace {

// The line of `name` in a passwd-style file, or "".
std::string entry(const std::string& file, const std::string& name) {
    const std::string start = name + ":";
    for (size_t at = 0; at < file.size();) {
        const size_t end = file.find('\n', at);
        const std::string line = file.substr(at, end - at);
        if (line.starts_with(start)) {
            return line;
        }
        at = end == std::string::npos ? file.size() : end + 1;
    }
    return "";
}

} // namespace

TEST_CASE("the shipped recipe creates pi on an image without users") {
    const auto base = test::test_image("trixie", "arm64");
    test::TempDir dir;
    const auto out = dir / "node.img";
    const std::string shipped =
        std::string(std::getenv("PIMINT_SOURCE_ROOT")) + "/recipes/raspbian-node.toml";
    apply(Recipe::load(shipped, {"hostname.name=node1", "user.name=pi"}), base, out);
    apply(Recipe::load(shipped, {"hostname.name=node1"}), base, dir / "unnamed.img");

    Appliance appliance;
    const int named = appliance.add_image(out, Access::read_only);
    const int unnamed = appliance.add_image(dir / "unnamed.img", Access::read_only);
    appliance.launch();
    for (const int index : {named, unnamed}) {
        appliance.mount(index);
        ImageFs& fs = appliance.fs();
        const std::string passwd = fs.read("/etc/passwd");
        CHECK(entry(passwd, "pi") == "pi:x:1000:1000:,,,:/home/pi:/bin/bash");
        const std::string group = fs.read("/etc/group");
        CHECK(entry(group, "pi") == "pi:x:1000:");
        // The supplementary groups the image has among Raspberry Pi OS's first user's.
        for (const char* g : {"sudo", "adm", "dialout", "video", "plugdev", "gpio", "i2c", "spi"}) {
            INFO(g);
            const std::string line = entry(group, g);
            REQUIRE_FALSE(line.empty());
            CHECK((line.ends_with(":pi") || line.ends_with(",pi")));
        }
        // The password login is locked: the recipe gives no password.
        const std::string shadow_line = entry(fs.read("/etc/shadow"), "pi");
        CHECK(shadow_line.starts_with("pi:!:"));
        CHECK(entry(fs.read("/etc/gshadow"), "pi") == "pi:!::");
        const auto home = fs.stat("/home/pi");
        REQUIRE(home.has_value());
        CHECK(home->uid == 1000);
        CHECK(home->gid == 1000);
        CHECK(home->mode == 0700);
        // Home from /etc/skel, with the recipe's PATH line on top of Debian's .bashrc.
        const std::string bashrc = fs.read("/home/pi/.bashrc");
        CHECK(bashrc.starts_with("# BEGIN pimint bashrc\n"));
        CHECK(bashrc.find(fs.read("/etc/skel/.bashrc")) != std::string::npos);
        CHECK(fs.stat("/home/pi/.profile")->uid == 1000);
        CHECK(fs.read("/etc/sudoers.d/010_pi-nopasswd") == "pi ALL=(ALL) NOPASSWD: ALL\n");
        CHECK(fs.stat("/etc/sudoers.d/010_pi-nopasswd")->mode == 0440);
    }
    appliance.shutdown();
}
