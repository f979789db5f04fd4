// The [mpich] step end to end: cross-compile MPICH (or take it from the cache) into a
// copy of the test image, then run the image's own root filesystem under qemu-user in
// a private network namespace and compute pi with the installed mpiexec and cpi; the
// same for the 64-bit trixie test image, whose MPICH is AArch64 code.
// Skipped (exit 77), with the reason, where binfmt_misc cannot run ARM programs.
#define DOCTEST_CONFIG_IMPLEMENT
#include "core/archive_tree.hpp"
#include "core/cache_dir.hpp"
#include "disk_image.hpp"
#include "image/elf_arch.hpp"
#include "mpich/mpich_build.hpp"
#include "run.hpp"
#include "temp_dir.hpp"
#include "test_image.hpp"

#include <chrono>
#include <cmath>
#include <doctest/doctest.h>
#include <fstream>
#include <pimint/recipe/apply.hpp>
#include <regex>
#include <set>
#include <sys/stat.h>

using namespace pimint;

namespace {

std::string source_tarball() {
    const auto r =
        test::run({std::string(std::getenv("PIMINT_SOURCE_ROOT")) + "/tools/fetch-mpich-source"});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    return r.out.substr(0, r.out.find('\n'));
}

// Highest GLIBC_2.N version named in readelf's version sections of `file`.
int highest_glibc(const std::string& readelf_output) {
    int best = 0;
    static const std::regex version(R"(GLIBC_2\.(\d+))");
    for (std::sregex_iterator it(readelf_output.begin(), readelf_output.end(), version), end;
         it != end; ++it) {
        best = std::max(best, std::stoi((*it)[1]));
    }
    return best;
}

bool is_elf(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    char magic[4] = {};
    in.read(magic, 4);
    return in && magic[0] == 0x7f && magic[1] == 'E' && magic[2] == 'L' && magic[3] == 'F';
}

// Runs `script` as pi (uid 1000; root where the image has no user yet) inside the
// image's root under qemu-user, with its own hostname and only a loopback network, so no
// MPI traffic can leave.
test::RunResult run_in_image(const std::filesystem::path& root, const std::string& hostname,
                             const std::string& script, bool as_pi = true) {
    const std::string inner =
        "hostname " + hostname + " && ip link set lo up && mount -t proc proc " + root.string() +
        "/proc && exec chroot --userspec=" + (as_pi ? "1000:1000 " : "0:0 ") + root.string() +
        " /usr/bin/env -i HOME=" + (as_pi ? "/home/pi USER=pi" : "/root USER=root") +
        " PATH=/usr/bin:/bin /bin/bash -l -c '" + script + "'";
    return test::run(
        {"timeout", "600", "unshare", "--mount", "--uts", "--net", "--fork", "sh", "-c", inner});
}

// cpi ran and printed pi to 1e-8.
void check_cpi(const test::RunResult& pi, const std::string& emulator) {
    INFO(pi.out << pi.err);
    REQUIRE(pi.exit_code == 0);
    std::smatch m;
    REQUIRE(std::regex_search(pi.out, m,
                              std::regex(R"(pi is approximately ([0-9.]+), Error is ([0-9.]+))")));
    MESSAGE("cpi under " << emulator << ": " << m[0]);
    CHECK(std::fabs(std::stod(m[1]) - M_PI) < 1e-8);
}

} // namespace

TEST_CASE("MPICH is cross-built against the image, cached, and computes pi under qemu-user") {
    const auto base = test::test_image("stretch");
    const std::string tarball = source_tarball();
    test::TempDir dir;
    const auto out = dir / "node.img";
    const std::string recipe =
        std::string(std::getenv("PIMINT_SOURCE_ROOT")) + "/recipes/mpi-node.toml";
    const ApplyReport report =
        apply(Recipe::load(recipe, {"mpich.source=" + tarball, "hostname.name=node1"}), base, out);
    MESSAGE("apply with [mpich]: " << report.total_seconds << " s (launch " << report.launch_seconds
                                   << " s)");

    Appliance appliance;
    const int index = appliance.add_image(out, Access::read_only);
    appliance.launch();
    appliance.mount(index);
    ImageFs& fs = appliance.fs();

    // A second build with the same inputs comes from the cache, in well under 2 s.
    MpichBuildSpec spec;
    spec.source = tarball;
    const auto t1 = std::chrono::steady_clock::now();
    const MpichArchive again = mpich_archive(spec, fs, {});
    const double cached_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    MESSAGE("second MPICH build with the same inputs: " << cached_seconds << " s (cache)");
    CHECK(again.from_cache);
    CHECK(cached_seconds < 2.0);

    const auto tar = dir / "root.tar";
    fs.tar_out("/", tar);
    appliance.shutdown();
    const auto root = dir / "root";
    extract_archive(tar, root);
    std::filesystem::remove(tar);

    const auto prefix = root / "home/pi/mpich2-install";
    const auto cpi = root / "home/pi/mpich2-build/examples/cpi";
    REQUIRE(std::filesystem::exists(prefix / "bin/mpiexec"));
    REQUIRE(std::filesystem::exists(cpi));
    struct stat st {};
    REQUIRE(::stat(prefix.c_str(), &st) == 0);
    CHECK(st.st_uid == 1000);

    // No host path anywhere in what was installed, and mpicc calls the Pi's own gcc.
    const std::vector<std::string> host_strings{cache_dir().string(), "--sysroot",
                                                "/usr/bin/arm-linux-gnueabihf"};
    for (const auto& top : {prefix, root / "home/pi/mpich2-build"}) {
        for (const auto& e : std::filesystem::recursive_directory_iterator(top)) {
            if (e.is_regular_file() && !e.is_symlink()) {
                const std::string content = test::read_file(e.path());
                for (const auto& s : host_strings) {
                    INFO(e.path() << " contains " << s);
                    CHECK(content.find(s) == std::string::npos);
                }
            }
        }
    }
    CHECK(test::read_file(prefix / "bin/mpicc").find("CC=\"gcc\"") != std::string::npos);

    // Binaries need no newer glibc than the image's own.
    const std::string libc = test::run({"arm-linux-gnueabihf-readelf", "-V", "-W",
                                        (root / "usr/lib/arm-linux-gnueabihf/libc.so.6").string()})
                                 .out;
    const int provided = highest_glibc(libc);
    int needed = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(prefix)) {
        if (e.is_regular_file() && !e.is_symlink() && is_elf(e.path())) {
            needed = std::max(
                needed,
                highest_glibc(
                    test::run({"arm-linux-gnueabihf-readelf", "-V", "-W", e.path().string()}).out));
        }
    }
    needed = std::max(
        needed,
        highest_glibc(test::run({"arm-linux-gnueabihf-readelf", "-V", "-W", cpi.string()}).out));
    MESSAGE("highest GLIBC_2.x needed: 2." << needed << ", image provides 2." << provided);

    // No installed program or library needs a newer CPU than the image's libc does.
    const auto image_libc =
        read_elf_arch(test::read_file(root / "usr/lib/arm-linux-gnueabihf/libc.so.6"), "libc.so.6");
    for (const auto& top : {prefix, root / "home/pi/mpich2-build"}) {
        for (const auto& e : std::filesystem::recursive_directory_iterator(top)) {
            if (e.is_regular_file() && !e.is_symlink() && is_elf(e.path())) {
                const auto arch = read_elf_arch(test::read_file(e.path()), e.path().string());
                INFO(e.path() << ": " << arch.architecture << " " << arch.code_baseline);
                CHECK(arch.architecture == image_libc.architecture);
                CHECK(code_runs_on(arch.code_baseline, image_libc.code_baseline));
            }
        }
    }
    CHECK(needed > 0);
    CHECK(needed <= provided);

    // mpiexec from ~/.bashrc's PATH, two ranks, on the node's own name.
    const auto hosts = run_in_image(root, "node1", "mpiexec -n 2 hostname");
    INFO(hosts.err);
    CHECK(hosts.exit_code == 0);
    CHECK(hosts.out == "node1\nnode1\n");
    check_cpi(run_in_image(root, "node1", "mpiexec -n 2 /home/pi/mpich2-build/examples/cpi"),
              "qemu-arm");
}

TEST_CASE("for a 64-bit image MPICH is AArch64 code that computes pi under qemu-aarch64") {
    const auto base = test::test_image("trixie", "arm64");
    test::TempDir dir;
    Appliance appliance;
    const int index = appliance.add_image(base, Access::read_only);
    appliance.launch();
    const Layout& layout = appliance.mount(index);
    CHECK(layout.architecture == "arm64");
    MpichBuildSpec spec;
    spec.source = source_tarball();
    const auto t0 = std::chrono::steady_clock::now();
    const MpichArchive archive = mpich_archive(spec, appliance.fs(), {});
    MESSAGE("MPICH for arm64: "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s"
            << std::string(archive.from_cache ? " (cache)" : " (built)"));
    const auto tar = dir / "root.tar";
    appliance.fs().tar_out("/", tar);
    appliance.shutdown();
    const auto root = dir / "root";
    extract_archive(tar, root);
    extract_archive(archive.path, root);

    // Every program and library is AArch64, for the image's own glibc or older.
    const auto prefix = root / "home/pi/mpich2-install";
    int elf_files = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(prefix)) {
        if (e.is_regular_file() && !e.is_symlink() && is_elf(e.path())) {
            ++elf_files;
            CHECK(test::run({"readelf", "-h", e.path().string()}).out.find("AArch64") !=
                  std::string::npos);
        }
    }
    CHECK(elf_files > 5);
    CHECK(test::read_file(prefix / "bin/mpicc").find("CC=\"gcc\"") != std::string::npos);

    check_cpi(run_in_image(root, "raspberrypi",
                           "/home/pi/mpich2-install/bin/mpiexec -n 2 "
                           "/home/pi/mpich2-build/examples/cpi",
                           false),
              "qemu-aarch64");
}

TEST_CASE("a damaged cache entry is not used") {
    const std::filesystem::path mpich_cache = cache_dir().string() + "/mpich";
    for (const auto& e : std::filesystem::directory_iterator(mpich_cache)) {
        if (e.path().extension() != ".gz") {
            continue;
        }
        const std::string key = e.path().stem().stem().string();
        REQUIRE(cached_mpich_archive(key).has_value());
        test::TempDir dir;
        std::filesystem::copy_file(e.path(), dir / "saved");
        std::filesystem::resize_file(e.path(),
                                     std::filesystem::file_size(e.path()) / 2); // a partial write
        CHECK_FALSE(cached_mpich_archive(key).has_value());
        std::filesystem::copy_file(dir / "saved", e.path(),
                                   std::filesystem::copy_options::overwrite_existing);
        CHECK(cached_mpich_archive(key).has_value());
        return;
    }
    FAIL("no MPICH cache entry to damage");
}

int main(int argc, char** argv) {
    for (const char* emulator : {"qemu-arm", "qemu-aarch64"}) {
        if (!std::filesystem::exists(std::string("/proc/sys/fs/binfmt_misc/") + emulator)) {
            std::fprintf(stderr,
                         "SKIP: %s is not registered with binfmt_misc, so ARM programs cannot "
                         "run here (tools/install-deps registers it where the kernel allows)\n",
                         emulator);
            return 77;
        }
    }
    doctest::Context context(argc, argv);
    return context.run();
}
