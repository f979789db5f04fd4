#include "core/text.hpp"

#include <doctest/doctest.h>

using namespace pimint::text;

TEST_CASE("os-release style assignments lose quotes and comments") {
    const auto m =
        parse_assignments("# comment\nPRETTY_NAME=\"Raspbian GNU/Linux 9 (stretch)\"\n"
                          "ID=raspbian\nVERSION_ID='9'\n\n  export LANG=en_GB.UTF-8\nbroken\n");
    CHECK(m.at("PRETTY_NAME") == "Raspbian GNU/Linux 9 (stretch)");
    CHECK(m.at("ID") == "raspbian");
    CHECK(m.at("VERSION_ID") == "9");
    CHECK(m.at("LANG") == "en_GB.UTF-8");
    CHECK(m.count("broken") == 0);
}

TEST_CASE("fstab entries are split on whitespace") {
    const auto e =
        parse_fstab("proc /proc proc defaults 0 0\n# x\nPARTUUID=9c5e2a17-01  /boot/firmware  vfat "
                    "defaults 0 2\nbad\n");
    REQUIRE(e.size() == 2);
    CHECK(e[1].device == "PARTUUID=9c5e2a17-01");
    CHECK(e[1].mount_point == "/boot/firmware");
    CHECK(e[1].fs_type == "vfat");
}

TEST_CASE("passwd entries give uid, gid, home and shell") {
    const auto p =
        parse_passwd("root:x:0:0:root:/root:/bin/bash\npi:x:1000:1000:,,,:/home/pi:/bin/bash\n"
                     "junk line\nnum:x:abc:1::/:/bin/sh\n");
    REQUIRE(p.size() == 2);
    CHECK(p[1].name == "pi");
    CHECK(p[1].uid == 1000);
    CHECK(p[1].home == "/home/pi");
}
