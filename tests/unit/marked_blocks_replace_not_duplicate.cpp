#include "recipe/steps/support.hpp"

#include <doctest/doctest.h>

using namespace pimint::steps;

TEST_CASE("a marked block is appended once and replaced on reapply") {
    const std::string bashrc = "# ~/.bashrc\nalias ll='ls -l'";
    const std::string once = replace_marked_block(bashrc, "bashrc", {"export PATH=$PATH:/opt/bin"});
    CHECK(once == "# ~/.bashrc\nalias ll='ls -l'\n# BEGIN pimint bashrc\nexport "
                  "PATH=$PATH:/opt/bin\n# END pimint bashrc\n");
    CHECK(replace_marked_block(once, "bashrc", {"export PATH=$PATH:/opt/bin"}) == once);
    const std::string changed = replace_marked_block(once, "bashrc", {"export A=1"});
    CHECK(changed.find("/opt/bin") == std::string::npos);
    CHECK(changed.find("export A=1") != std::string::npos);
    CHECK(replace_marked_block(changed, "bashrc", {}) == "# ~/.bashrc\nalias ll='ls -l'\n");
}

TEST_CASE("a new block can go first, where first-match configs need it") {
    CHECK(replace_marked_block("Port 22\n", "ssh", {"PasswordAuthentication no"}, true) ==
          "# BEGIN pimint ssh\nPasswordAuthentication no\n# END pimint ssh\nPort 22\n");
}

TEST_CASE("set_assignment replaces the first assignment or appends") {
    CHECK(set_assignment("XKBMODEL=\"pc105\"\nXKBLAYOUT=\"us\"\n", "XKBLAYOUT", "gb", true) ==
          "XKBMODEL=\"pc105\"\nXKBLAYOUT=\"gb\"\n");
    CHECK(set_assignment("", "LANG", "en_GB.UTF-8", false) == "LANG=en_GB.UTF-8\n");
}
