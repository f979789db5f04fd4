#include "mpich_build.hpp"

#include "archive_tree.hpp"
#include "cache_dir.hpp"
#include "file_handle.hpp"
#include "pimint/error.hpp"
#include "pimint/files.hpp"
#include "pimint/interrupt.hpp"
#include "remove_on_exit.hpp"
#include "subprocess.hpp"
#include "text.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <sys/file.h>
#include <thread>
#include <unistd.h>

namespace pimint {
namespace {

// Bump when the build procedure changes, so older cache entries are not reused.
constexpr const char* build_recipe_version = "mpich-cross-2";

std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void write_text(const std::filesystem::path& path, const std::string& content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out) {
        throw Error(ErrorCategory::io, path.string(), "cannot write");
    }
}

std::string cpu_flags(const MpichBuildSpec& spec) {
    if (spec.cpu == "armv8") {
        return "-O2 -mcpu=cortex-a53";
    }
    if (spec.cpu == "armv6") {
        return "-O2 -march=armv6zk -mfpu=vfp -mfloat-abi=hard -marm";
    }
    return "-O2";
}

// Copies from the image what compiling and linking against it needs.
void extract_sysroot(ImageFs& image, const std::filesystem::path& sysroot,
                     const std::filesystem::path& work) {
    if (!image.exists("/usr/include/stdio.h") ||
        !image.exists("/usr/lib/arm-linux-gnueabihf/crt1.o")) {
        throw Error(ErrorCategory::image, "libc6-dev",
                    "the image has no C development files (/usr/include/stdio.h, crt1.o), which "
                    "the MPICH cross "
                    "build uses as its sysroot; install libc6-dev in the image (apt-get install "
                    "libc6-dev on a "
                    "booted Pi, then copy the card back to an image) and run pimint again");
    }
    std::vector<std::string> dirs{"/usr/include", "/usr/lib/arm-linux-gnueabihf"};
    const auto lib = image.stat("/lib");
    if (lib && lib->type == FileStat::Type::symlink) {
        std::filesystem::create_directories(sysroot);
        std::filesystem::create_directory_symlink(image.readlink("/lib"), sysroot / "lib");
    } else {
        dirs.emplace_back("/lib/arm-linux-gnueabihf");
    }
    for (const auto& dir : dirs) {
        const auto tar = work / "sysroot-part.tar";
        image.tar_out(dir, tar);
        extract_archive(tar, sysroot / dir.substr(1));
        std::filesystem::remove(tar);
    }
}

// Compiler wrappers named like the toolchain, adding --sysroot: the configure line and
// the installed mpicc then name the plain compiler, never a host path. They also map the
// build's directories in __FILE__ and debug information to the paths on the Pi.
void write_compiler_wrappers(const MpichBuildSpec& spec, const std::filesystem::path& bin,
                             const std::filesystem::path& sysroot,
                             const std::filesystem::path& source_dir) {
    std::filesystem::create_directories(bin);
    std::vector<std::string> tools{"gcc", "g++"};
    if (spec.fortran) {
        tools.emplace_back("gfortran");
    }
    for (const auto& tool : tools) {
        const std::string name = spec.toolchain + "-" + tool;
        const auto real = find_program(name);
        if (real.empty()) {
            throw Error(
                ErrorCategory::build, name,
                fmt::format("the cross compiler is not installed; on Debian: apt-get install {}-{}",
                            tool == "g++" ? "g++" : tool, spec.toolchain));
        }
        write_text(bin / name, fmt::format("#!/bin/sh\nexec {} --sysroot={} -ffile-prefix-map={}= "
                                           "-ffile-prefix-map={}={} \"$@\"\n",
                                           real.string(), sysroot.string(), sysroot.string(),
                                           source_dir.string(), spec.build_dir));
        std::filesystem::permissions(bin / name, std::filesystem::perms::owner_all |
                                                     std::filesystem::perms::group_read |
                                                     std::filesystem::perms::group_exec);
    }
}

// The installed compiler wrappers must call the Pi's own compilers.
void point_wrappers_at_native_compilers(const MpichBuildSpec& spec,
                                        const std::filesystem::path& bin_dir) {
    for (const char* wrapper : {"mpicc", "mpicxx", "mpif77", "mpif90", "mpifort"}) {
        const auto path = bin_dir / wrapper;
        if (!std::filesystem::is_regular_file(path)) {
            continue;
        }
        std::string text = read_text(path);
        text = text::replace_all(text, "\"" + spec.toolchain + "-gcc\"", "\"gcc\"");
        text = text::replace_all(text, "\"" + spec.toolchain + "-g++\"", "\"g++\"");
        text = text::replace_all(text, "\"" + spec.toolchain + "-gfortran\"", "\"gfortran\"");
        write_text(path, text);
    }
}

// Fails when any installed file still mentions the build machine's directories.
void check_no_host_paths(const std::filesystem::path& stage,
                         const std::vector<std::string>& host_paths) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(stage)) {
        if (!entry.is_regular_file() || entry.is_symlink()) {
            continue;
        }
        const std::string content = read_text(entry.path());
        for (const auto& host : host_paths) {
            if (content.find(host) != std::string::npos) {
                throw Error(
                    ErrorCategory::build, entry.path().string(),
                    fmt::format("the installed file still contains the host path {}", host));
            }
        }
    }
}

std::string mpich_version(const std::filesystem::path& source_dir) {
    const std::string name = source_dir.filename().string(); // mpich-4.0.2
    return name.starts_with("mpich-") ? name.substr(6) : "";
}

void build(const MpichBuildSpec& spec, ImageFs& image, const std::filesystem::path& work,
           const std::filesystem::path& archive, const std::filesystem::path& log,
           const StatusCallback& status) {
    const auto say = [&](const std::string& m) {
        if (status) {
            status(m);
        }
    };
    const auto sysroot = work / "sysroot";
    const auto stage = work / "stage";
    say("MPICH: copying the sysroot from the image");
    extract_sysroot(image, sysroot, work);
    say("MPICH: unpacking the source");
    extract_archive(spec.source, work / "src");
    std::filesystem::path source_dir;
    for (const auto& e : std::filesystem::directory_iterator(work / "src")) {
        if (e.is_directory() && std::filesystem::exists(e.path() / "configure")) {
            source_dir = e.path();
        }
    }
    if (source_dir.empty()) {
        throw Error(ErrorCategory::recipe, spec.source.string(),
                    "not an MPICH source tarball (no configure script)");
    }
    write_compiler_wrappers(spec, work / "bin", sysroot, source_dir);
    const std::string path_env = (work / "bin").string() + ":" +
                                 (std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin");
    std::map<std::string, std::string> env{{"PATH", path_env},
                                           {"CC", spec.toolchain + "-gcc"},
                                           {"CXX", spec.toolchain + "-g++"},
                                           {"CFLAGS", cpu_flags(spec)},
                                           {"CXXFLAGS", cpu_flags(spec)}};
    std::vector<std::string> configure{"./configure",
                                       "--host=" + spec.toolchain,
                                       "--prefix=" + spec.prefix,
                                       "--with-device=" + spec.device,
                                       "--disable-doc",
                                       "--disable-static",
                                       "--with-pm=hydra"};
    if (spec.fortran) {
        env["FC"] = spec.toolchain + "-gfortran";
        env["F77"] = spec.toolchain + "-gfortran";
    } else {
        configure.emplace_back("--disable-fortran");
    }
    configure.insert(configure.end(), spec.configure_flags.begin(), spec.configure_flags.end());
    say(fmt::format("MPICH {}: configuring (about a minute; log {})", mpich_version(source_dir),
                    log.string()));
    run_logged({configure, source_dir, env}, log);
    const unsigned jobs = std::max(1U, std::thread::hardware_concurrency());
    say(fmt::format("MPICH: compiling with {} jobs (a few minutes)", jobs));
    run_logged({{"make", fmt::format("-j{}", jobs)}, source_dir, env}, log);
    say("MPICH: installing");
    run_logged({{"make", "install", "DESTDIR=" + stage.string()}, source_dir, env}, log);

    const auto installed = stage / spec.prefix.substr(1);
    const auto examples = stage / spec.build_dir.substr(1) / "examples";
    std::filesystem::create_directories(examples);
    // The wrapper by its full path: gcc finds its own files from argv[0].
    run_logged({{(work / "bin" / (spec.toolchain + "-gcc")).string(), "-O2",
                 "-I" + (installed / "include").string(), "examples/cpi.c", "-o",
                 (examples / "cpi").string(), "-L" + (installed / "lib").string(),
                 "-Wl,-rpath-link," + (installed / "lib").string(), "-lmpi", "-lm",
                 "-Wl,-rpath," + spec.prefix + "/lib", "-Wl,--enable-new-dtags"},
                source_dir,
                env},
               log);
    std::filesystem::copy_file(source_dir / "examples" / "cpi.c", examples / "cpi.c");

    point_wrappers_at_native_compilers(spec, installed / "bin");
    for (const auto& e : std::filesystem::recursive_directory_iterator(installed)) {
        if (e.path().extension() == ".la") {
            std::filesystem::remove(
                e.path()); // libtool archives record build paths; Debian drops them too
        }
    }
    check_no_host_paths(stage, {work.string(), sysroot.string()});
    say("MPICH: packing the build for the cache");
    AtomicOutput out(archive);
    pack_tree(stage, {spec.prefix.substr(1), spec.build_dir.substr(1)}, out.temp_path());
    out.commit();
}

} // namespace

std::string image_libc_version(ImageFs& image) {
    const std::string status = image.read_if_exists("/var/lib/dpkg/status").value_or("");
    std::string package;
    std::string libc6;
    for (auto line : text::split_lines(status)) {
        if (line.starts_with("Package: ")) {
            package = std::string(line.substr(9));
        } else if (line.starts_with("Version: ") &&
                   (package == "libc6-dev" || package == "libc6")) {
            if (package == "libc6-dev") {
                return "libc6-dev " + std::string(line.substr(9));
            }
            libc6 = "libc6 " + std::string(line.substr(9));
        }
    }
    return libc6;
}

namespace {

std::filesystem::path mpich_cache() {
    return cache_dir() / "mpich";
}

} // namespace

std::string mpich_cache_key(const MpichBuildSpec& spec, ImageFs& image) {
    const std::string gcc = spec.toolchain + "-gcc";
    if (find_program(gcc).empty()) {
        throw Error(
            ErrorCategory::build, gcc,
            fmt::format(
                "the cross compiler is not installed; on Debian: apt-get install gcc-{0} g++-{0}",
                spec.toolchain));
    }
    const std::string toolchain = run_capture({{gcc, "-dumpmachine"}, {}, {}}) +
                                  run_capture({{gcc, "-dumpfullversion"}, {}, {}});
    std::string flags;
    for (const auto& f : spec.configure_flags) {
        flags += f + "\n";
    }
    return sha256_text(fmt::format("{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
                                   build_recipe_version, sha256_file(spec.source), spec.prefix,
                                   spec.build_dir, spec.device, flags, spec.fortran, spec.cpu,
                                   spec.toolchain, toolchain, image_libc_version(image)))
        .substr(0, 24);
}

std::optional<std::filesystem::path> cached_mpich_archive(const std::string& key) {
    const auto archive = mpich_cache() / (key + ".tar.gz");
    const auto sum_file = mpich_cache() / (key + ".sha256");
    if (std::filesystem::exists(archive) && std::filesystem::exists(sum_file) &&
        read_text(sum_file) == sha256_file(archive) + "\n") {
        return archive;
    }
    return std::nullopt;
}

MpichArchive mpich_archive(const MpichBuildSpec& spec, ImageFs& image,
                           const StatusCallback& status) {
    if (!std::filesystem::is_regular_file(spec.source)) {
        throw Error(ErrorCategory::recipe, spec.source.string(),
                    "the MPICH source tarball does not exist; get one with 'apt-get source "
                    "--download-only mpich' "
                    "(mpich_*.orig.tar.xz) or from mpich.org, and point mpich.source at it");
    }
    MpichArchive result;
    result.key = mpich_cache_key(spec, image);
    if (auto cached = cached_mpich_archive(result.key)) {
        result.path = *cached;
        result.from_cache = true;
        return result;
    }
    const auto dir = mpich_cache();
    std::filesystem::create_directories(dir);
    // Runs on other output directories share the cache: one builds a key at a time, and
    // the others wait for it and take its result instead of building the same again.
    const FdHandle lock(dir / (result.key + ".lock"), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
        if (status) {
            status("MPICH: another pimint is building this MPICH; waiting for it");
        }
        // Polled, so Ctrl-C still stops the wait.
        while (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
            if (errno != EWOULDBLOCK && errno != EINTR) {
                throw Error(ErrorCategory::io, (dir / (result.key + ".lock")).string(),
                            fmt::format("cannot lock the MPICH cache: {}", std::strerror(errno)));
            }
            check_interrupted();
            std::this_thread::sleep_for(std::chrono::seconds(1));
        }
    }
    // Another run may have finished this key between the first look and the lock.
    if (auto cached = cached_mpich_archive(result.key)) {
        result.path = *cached;
        result.from_cache = true;
        return result;
    }
    // Missing, partial or damaged: build afresh.
    result.path = dir / (result.key + ".tar.gz");
    const auto sum_file = dir / (result.key + ".sha256");
    std::filesystem::remove(result.path);
    std::filesystem::remove(sum_file);
    const auto work = dir / fmt::format(".build-{}-{}", result.key, ::getpid());
    const auto log = dir / (result.key + ".log");
    std::filesystem::remove(log);
    const RemoveOnExit cleanup(work);
    std::filesystem::create_directories(work);
    build(spec, image, work, result.path, log, status);
    verify_archive(result.path);
    AtomicOutput sum(sum_file);
    write_text(sum.temp_path(), sha256_file(result.path) + "\n");
    sum.commit();
    return result;
}

} // namespace pimint
