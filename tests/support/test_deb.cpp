#include "test_deb.hpp"

#include "run.hpp"

#include <doctest/doctest.h>
#include <fstream>

namespace pimint::test {
namespace fs = std::filesystem;

namespace {

void put(const fs::path& path, const std::string& content, fs::perms mode) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
    fs::permissions(path, mode);
}

} // namespace

fs::path make_deb(const TestDeb& deb, const fs::path& dir) {
    const fs::path root = dir / (deb.name + "-tree");
    fs::remove_all(root);
    std::string conffiles;
    for (const auto& [path, content] : deb.files) {
        put(root / path, content, static_cast<fs::perms>(0644));
        if (deb.conffiles_from_etc && path.starts_with("etc/")) {
            conffiles += "/" + path + "\n";
        }
    }
    for (const auto& [path, content] : deb.executables) {
        put(root / path, content, static_cast<fs::perms>(0755));
    }
    for (const auto& [name, content] : deb.scripts) {
        put(root / "DEBIAN" / name, content, static_cast<fs::perms>(0755));
    }
    if (!conffiles.empty()) {
        put(root / "DEBIAN/conffiles", conffiles, static_cast<fs::perms>(0644));
    }
    put(root / "DEBIAN/control",
        "Package: " + deb.name + "\nVersion: " + deb.version +
            "\nArchitecture: " + deb.architecture +
            "\nMaintainer: pimint tests <tests@pimint.invalid>\nInstalled-Size: 8\n" +
            deb.extra_control + "Description: a package for pimint's tests\n two lines long\n",
        static_cast<fs::perms>(0644));
    const fs::path out = dir / (deb.name + "_" + deb.architecture + ".deb");
    const auto r = run({"dpkg-deb", "--root-owner-group", "-Z" + deb.compression, "--build",
                        root.string(), out.string()});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    fs::remove_all(root);
    return out;
}

} // namespace pimint::test
