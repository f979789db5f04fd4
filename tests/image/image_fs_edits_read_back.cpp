// Writes through ImageFs into a copy of the test image, then reads everything back
// through a second, read-only appliance: what a step writes must be on the disk.
#include "core/tar_writer.hpp"
#include "temp_dir.hpp"
#include "test_image.hpp"

#include <doctest/doctest.h>
#include <pimint/core/error.hpp>
#include <pimint/core/files.hpp>
#include <pimint/image/appliance.hpp>

using namespace pimint;

TEST_CASE("ImageFs edits on a copy are read back by a separate read-only appliance") {
    const auto base = test::test_image("stretch");
    const std::string base_sum = sha256_file(base);
    test::TempDir dir;
    const auto copy = dir / "node.img";
    const CopyStats stats = sparse_copy(base, copy);
    CHECK(stats.data_bytes < stats.size);

    const auto tarball = dir / "files.tar";
    {
        TarWriter tar(tarball);
        tar.add_directory("opt/pimint", {0755, 1000, 1000, 0});
        tar.add_file("opt/pimint/hello.sh", "#!/bin/sh\necho hello\n", {0750, 1000, 1000, 0});
        tar.add_symlink("opt/pimint/current", "hello.sh", {0777, 0, 0, 0});
        tar.close();
    }
    {
        Appliance rw;
        const int i = rw.add_image(copy, Access::read_write);
        rw.launch();
        rw.mount(i);
        ImageFs& fs = rw.fs();
        fs.write("/etc/hostname", "node1\n");
        fs.append("/etc/hosts", "10.0.0.1\tnode1\n");
        fs.mkdir_p("/home/pi/.ssh/deeper");
        fs.chmod("/home/pi/.ssh", 0700);
        fs.chown("/home/pi/.ssh", 1000, 1000);
        fs.write("/boot/ssh", "");
        fs.symlink("/usr/share/zoneinfo/Europe/Paris", "/etc/localtime");
        fs.tar_in(tarball, "/");
        fs.remove("/etc/motd");
        CHECK_THROWS_AS(fs.read("/etc/../etc/passwd"), Error);
        rw.shutdown();
    }

    Appliance ro;
    const int i = ro.add_image(copy, Access::read_only);
    ro.launch();
    ro.mount(i);
    ImageFs& fs = ro.fs();
    CHECK(fs.read("/etc/hostname") == "node1\n");
    CHECK(fs.read("/etc/hosts").ends_with("127.0.1.1\traspberrypi\n10.0.0.1\tnode1\n"));
    const auto ssh = fs.stat("/home/pi/.ssh");
    REQUIRE(ssh.has_value());
    CHECK(ssh->type == FileStat::Type::directory);
    CHECK(ssh->mode == 0700);
    CHECK(ssh->uid == 1000);
    CHECK(fs.exists("/home/pi/.ssh/deeper"));
    CHECK(fs.exists("/boot/ssh"));
    CHECK(fs.readlink("/etc/localtime") == "/usr/share/zoneinfo/Europe/Paris");
    const auto script = fs.stat("/opt/pimint/hello.sh");
    REQUIRE(script.has_value());
    CHECK(script->mode == 0750);
    CHECK(script->gid == 1000);
    CHECK(fs.read("/opt/pimint/hello.sh") == "#!/bin/sh\necho hello\n");
    CHECK(fs.stat("/opt/pimint/current")->type == FileStat::Type::symlink);
    CHECK_FALSE(fs.stat("/etc/motd").has_value());
    CHECK_FALSE(fs.stat("/no/such/dir/file").has_value());
    CHECK_FALSE(fs.read_if_exists("/etc/not-there").has_value());
    ro.shutdown();

    CHECK(sha256_file(base) == base_sum);
}
