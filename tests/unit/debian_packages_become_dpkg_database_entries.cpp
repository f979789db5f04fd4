// Debian packages are read with libarchive (control, scripts, conffiles, data) and
// become dpkg database entries as a first `dpkg --unpack` leaves them; apt's output is
// read into what to install and into one-line problems; the image's keyring paths are
// moved under the private apt root. Packages are built with dpkg-deb.
#include "packages/apt_resolver.hpp"
#include "packages/control_stanza.hpp"
#include "packages/deb_package.hpp"
#include "packages/dpkg_database.hpp"
#include "pimint/core/error.hpp"
#include "temp_dir.hpp"
#include "test_deb.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <doctest/doctest.h>
#include <fstream>

using namespace pimint;

TEST_CASE("a package's control data, scripts, conffiles and files are read") {
    test::TempDir dir;
    for (const std::string compression : {"xz", "gzip", "zstd"}) {
        CAPTURE(compression);
        test::TestDeb t;
        t.name = "libpimint-test1";
        t.version = "2:1.0-1";
        t.extra_control = "Multi-Arch: same\nDepends: libc6 (>= 2.34)\n";
        t.files = {{"etc/pimint-test.conf", "setting = 1\n"}, {"usr/share/doc/x/README", "x"}};
        t.executables = {{"usr/bin/pimint-test", "#!/bin/sh\necho hi\n"}};
        t.scripts = {{"postinst", "#!/bin/sh\nexit 0\n"}, {"preinst", "#!/bin/sh\nexit 0\n"}};
        t.compression = compression;
        const auto deb = read_deb(test::make_deb(t, dir.path()));
        CHECK(deb.name() == "libpimint-test1");
        CHECK(deb.version() == "2:1.0-1");
        CHECK(deb.architecture() == "armhf");
        CHECK(deb.database_name() == "libpimint-test1:armhf");
        CHECK(deb.control.get("depends") == "libc6 (>= 2.34)");
        CHECK(deb.control.get("Description") == "a package for pimint's tests\n two lines long");
        CHECK(deb.conffiles() == std::vector<std::string>{"/etc/pimint-test.conf"});
        REQUIRE(deb.control_files.contains("postinst"));
        CHECK(deb.control_files.at("postinst").mode == 0755);
        CHECK(deb.control_files.at("conffiles").mode == 0644);
        CHECK_FALSE(deb.control_files.contains("control"));

        std::map<std::string, std::string> seen;
        visit_deb_data(deb.file, [&](archive_entry* e, archive* a) {
            std::string content(static_cast<size_t>(archive_entry_size(e)), '\0');
            if (!content.empty()) {
                archive_read_data(a, content.data(), content.size());
            }
            seen[archive_entry_pathname(e)] = content;
        });
        CHECK(seen.at("./etc/pimint-test.conf") == "setting = 1\n");
        CHECK(seen.at("./usr/bin/pimint-test") == "#!/bin/sh\necho hi\n");
        CHECK(seen.contains("./usr/"));
    }
}

TEST_CASE("a file that is not a package is refused in one line") {
    test::TempDir dir;
    std::ofstream(dir / "fake.deb") << "just text\n";
    try {
        read_deb(dir / "fake.deb");
        FAIL("read");
    } catch (const Error& e) {
        CHECK(e.category() == ErrorCategory::io);
        CHECK(e.context() == (dir / "fake.deb").string());
        CHECK(e.message().find('\n') == std::string::npos);
    }
}

TEST_CASE("an unpacked package's status entry is what dpkg --unpack writes") {
    test::TempDir dir;
    test::TestDeb t;
    t.files = {{"etc/a.conf", "a\n"}, {"etc/b.conf", "b\n"}};
    const auto deb = read_deb(test::make_deb(t, dir.path()));
    const Stanza s = unpacked_status(deb);
    REQUIRE(s.fields.size() >= 3);
    CHECK(s.fields[0].first == "Package");
    CHECK(s.fields[1] == std::pair<std::string, std::string>{"Status", "install ok unpacked"});
    CHECK(s.get("Conffiles") == "\n /etc/a.conf newconffile\n /etc/b.conf newconffile");
    CHECK(s.fields.back().first == "Description");
    CHECK(s.text().find("Conffiles:\n /etc/a.conf newconffile\n") != std::string::npos);
    CHECK(deb.database_name() == "pimint-test"); // not Multi-Arch: same

    const std::string status = "Package: base-files\nStatus: install ok installed\n"
                               "Architecture: armhf\nVersion: 12.4\nDescription: base\n"
                               " system\n\n"
                               "Package: pimint-test\nStatus: deinstall ok config-files\n"
                               "Architecture: armhf\nVersion: 0.9\n";
    CHECK(format_stanzas(parse_stanzas(status)) == status);
    const std::string merged = merge_status(status, {s});
    const auto stanzas = parse_stanzas(merged);
    REQUIRE(stanzas.size() == 2);
    CHECK(stanzas[0].get("Description") == "base\n system");
    CHECK(stanzas[1].get("Status") == "install ok unpacked");
    CHECK(stanzas[1].get("Version") == "1.0-1");
}

TEST_CASE("dependencies are marked auto-installed for apt") {
    const std::string states = "Package: foo\nArchitecture: armhf\nAuto-Installed: 0\n";
    const auto out = parse_stanzas(mark_automatic(states, {{"foo", "armhf"}, {"bar", "armhf"}}));
    REQUIRE(out.size() == 2);
    CHECK(out[0].get("Auto-Installed") == "1");
    CHECK(out[1].text() == "Package: bar\nArchitecture: armhf\nAuto-Installed: 1\n");
}

TEST_CASE("diverted files go where the diversion says, except for its owner") {
    const auto d =
        parse_diversions("/usr/bin/x\n/usr/bin/x.real\nother\n/etc/y\n/etc/y.local\n:\n");
    REQUIRE(d.size() == 2);
    CHECK(diverted_path(d, "/usr/bin/x", "pkg") == "/usr/bin/x.real");
    CHECK(diverted_path(d, "/usr/bin/x", "other") == "/usr/bin/x");
    CHECK(diverted_path(d, "/etc/y", "pkg") == "/etc/y.local");
    CHECK(diverted_path(d, "/etc/z", "pkg") == "/etc/z");
}

TEST_CASE("apt's simulation says what to install and what it would upgrade") {
    const auto actions = parse_apt_simulation(
        "Reading package lists...\n"
        "Inst libfoo1 (1.2-3 Debian:12.8/stable [armhf])\n"
        "Inst hello (2.10-3 Debian:12.8/stable, Debian-Security:12/stable-security [armhf])\n"
        "Inst libc6 [2.36-9] (2.36-9+deb12u9 Debian:12.8/stable [armhf]) []\n"
        "Inst tzdata (1:2024a-0 Debian:12.8/stable [all])\n"
        "Conf hello (2.10-3 Debian:12.8/stable [armhf])\n");
    REQUIRE(actions.size() == 4);
    CHECK(actions[0].name == "libfoo1");
    CHECK(actions[0].version == "1.2-3");
    CHECK(actions[0].architecture == "armhf");
    CHECK(actions[0].installed_version.empty());
    CHECK(actions[1].architecture == "armhf");
    CHECK(actions[2].installed_version == "2.36-9");
    CHECK(actions[2].version == "2.36-9+deb12u9");
    CHECK(actions[3].version == "1:2024a-0");
    CHECK(actions[3].architecture == "all");
}

TEST_CASE("apt's problems are told in one line") {
    CHECK(apt_problem("Reading package lists...\nE: Unable to locate package nosuch\n") ==
          "Unable to locate package nosuch");
    CHECK(apt_problem("Some packages could not be installed.\n"
                      "The following packages have unmet dependencies:\n"
                      " foo : Depends: bar (>= 2) but it is not installable\n"
                      "E: Unable to correct problems, you have held broken packages.\n") ==
          "foo : Depends: bar (>= 2) but it is not installable");
    CHECK(apt_problem("Get:1 http://x y InRelease\nAll fine\n").empty());
}

TEST_CASE("the image's keyring paths are moved under the private root") {
    CHECK(sources_under_root("deb [arch=armhf signed-by=/usr/share/keyrings/a.gpg] http://x "
                             "bookworm main\n",
                             "/tmp/r") ==
          "deb [arch=armhf signed-by=/tmp/r/usr/share/keyrings/a.gpg] http://x bookworm main\n");
    CHECK(sources_under_root("deb [signed-by=/a.gpg,/b.gpg] http://x s main\n", "/r") ==
          "deb [signed-by=/r/a.gpg,/r/b.gpg] http://x s main\n");
    CHECK(sources_under_root("Types: deb\nURIs: http://deb.debian.org/debian\nSuites: trixie\n"
                             "Components: main\nSigned-By: "
                             "/usr/share/keyrings/debian-archive-keyring.pgp\n",
                             "/r") ==
          "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: trixie\nComponents: main\n"
          "Signed-By: /r/usr/share/keyrings/debian-archive-keyring.pgp\n");
    CHECK(sources_under_root("deb http://x s main\n", "/r") == "deb http://x s main\n");
}
