#include "mpich/mpich_build.hpp"

#include "core/archive_tree.hpp"
#include "core/cache_dir.hpp"
#include "core/file_handle.hpp"
#include "core/remove_on_exit.hpp"
#include "core/subprocess.hpp"
#include "core/text.hpp"
#include "core/text_file.hpp"
#include "image/elf_arch.hpp"
#include "mpich/build_reporter.hpp"
#include "mpich/compile_cache.hpp"
#include "mpich/config_site.hpp"
#include "mpich/libtool_compile.hpp"
#include "mpich/mpich_target.hpp"
#include "pimint/core/error.hpp"
#include "pimint/core/files.hpp"
#include "pimint/core/interrupt.hpp"

#include <array>
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

using Say = std::function<void(const std::string&)>;

// Bump when the build procedure changes, so older cache entries are not reused.
constexpr const char* build_recipe_version = "mpich-cross-3";

// Configure flags that make the build cheaper and change nothing that is installed:
// a build made once needs no dependency tracking, and MPICH's test suite, whose
// configure (with its own sub-configure) runs by default, is never built.
constexpr std::array<const char*, 2> fast_build_flags{"--disable-dependency-tracking",
                                                      "--no-recursion"};

// Copies from the image what compiling and linking against it needs.
void extract_sysroot(ImageFs& image, const std::string& multiarch,
                     const std::filesystem::path& sysroot, const std::filesystem::path& work) {
    if (!image.exists("/usr/include/stdio.h") ||
        !image.exists("/usr/lib/" + multiarch + "/crt1.o")) {
        throw Error(ErrorCategory::image, "libc6-dev",
                    "the image has no C development files (/usr/include/stdio.h, crt1.o), which "
                    "the MPICH cross "
                    "build uses as its sysroot; install libc6-dev in the image (apt-get install "
                    "libc6-dev on a "
                    "booted Pi, then copy the card back to an image) and run pimint again");
    }
    std::vector<std::string> dirs{"/usr/include", "/usr/lib/" + multiarch};
    const auto lib = image.stat("/lib");
    if (lib && lib->type == FileStat::Type::symlink) {
        std::filesystem::create_directories(sysroot);
        std::filesystem::create_directory_symlink(image.readlink("/lib"), sysroot / "lib");
    } else {
        dirs.emplace_back("/lib/" + multiarch);
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
// build's directories in __FILE__ and debug information to the paths on the Pi. With
// `ccache`, every compile goes through it: the build directory is the same for every
// build, so a build for another image reuses each object whose inputs did not change
// (-fpch-preprocess lets it see the precompiled header below). -pipe spares the
// temporary files between compiler passes; none of these change the objects.
void write_compiler_wrappers(const MpichBuildSpec& spec, const MpichTarget& target,
                             const std::filesystem::path& bin, const std::filesystem::path& sysroot,
                             const std::filesystem::path& source_dir,
                             const std::filesystem::path& ccache) {
    std::filesystem::create_directories(bin);
    std::vector<std::string> tools{"gcc", "g++"};
    if (spec.fortran) {
        tools.emplace_back("gfortran");
    }
    for (const auto& tool : tools) {
        const std::string name = target.toolchain + "-" + tool;
        const auto real = find_program(name);
        if (real.empty()) {
            throw Error(
                ErrorCategory::build, name,
                fmt::format("the cross compiler is not installed; on Debian: apt-get install {}-{}",
                            tool == "g++" ? "g++" : tool, target.toolchain));
        }
        write_text(bin / name,
                   fmt::format("#!/bin/sh\nexec {}{} --sysroot={} -ffile-prefix-map={}= "
                               "-ffile-prefix-map={}={} -pipe -fpch-preprocess \"$@\"\n",
                               ccache.empty() ? "" : ccache.string() + " ", real.string(),
                               sysroot.string(), sysroot.string(), source_dir.string(),
                               spec.build_dir));
        std::filesystem::permissions(bin / name, std::filesystem::perms::owner_all |
                                                     std::filesystem::perms::group_read |
                                                     std::filesystem::perms::group_exec);
    }
}

// The installed compiler wrappers must call the Pi's own compilers.
void point_wrappers_at_native_compilers(const MpichTarget& target,
                                        const std::filesystem::path& bin_dir) {
    for (const char* wrapper : {"mpicc", "mpicxx", "mpif77", "mpif90", "mpifort"}) {
        const auto path = bin_dir / wrapper;
        if (!std::filesystem::is_regular_file(path)) {
            continue;
        }
        std::string text = read_text(path);
        text = text::replace_all(text, "\"" + target.toolchain + "-gcc\"", "\"gcc\"");
        text = text::replace_all(text, "\"" + target.toolchain + "-g++\"", "\"g++\"");
        text = text::replace_all(text, "\"" + target.toolchain + "-gfortran\"", "\"gfortran\"");
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

// Fails when an installed program or library is built for another architecture than
// the image's, or for a newer CPU than its libc is (it would die with SIGILL there).
void check_code_runs_on_image(const std::filesystem::path& stage, const ImageArch& image) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(stage)) {
        if (!entry.is_regular_file() || entry.is_symlink()) {
            continue;
        }
        const std::string content = read_text(entry.path());
        if (!content.starts_with("\x7f"
                                 "ELF")) {
            continue;
        }
        const std::string name = entry.path().lexically_relative(stage).string();
        const ElfArch arch = read_elf_arch(content, name);
        if (arch.architecture != image.architecture ||
            !code_runs_on(arch.code_baseline, image.code_baseline)) {
            throw Error(ErrorCategory::build, "/" + name,
                        fmt::format("built for {} {}, but the image's libc is {} {}: it would "
                                    "not run on the Pi; check mpich.cpu and mpich.toolchain",
                                    arch.architecture, arch.code_baseline, image.architecture,
                                    image.code_baseline));
        }
    }
}

std::string mpich_version(const std::filesystem::path& source_dir) {
    const std::string name = source_dir.filename().string(); // mpich-4.0.2
    return name.starts_with("mpich-") ? name.substr(6) : "";
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Where one build works, for what, and what its commands run with.
struct BuildTree {
    MpichTarget target;
    ImageArch image; // what the image's libc is built for
    std::filesystem::path work;
    std::filesystem::path sysroot;    // the image's headers and libraries
    std::filesystem::path source_dir; // the unpacked source
    std::filesystem::path stage;      // DESTDIR of make install
    std::filesystem::path log;
    std::filesystem::path ccache; // empty when not installed
    std::map<std::string, std::string> env;
};

// Prepare: the sysroot from the image, the unpacked source, the compiler wrappers and
// the environment every command of the build runs in.
BuildTree prepare_tree(const MpichBuildSpec& spec, const MpichTarget& target, const ImageArch& arch,
                       ImageFs& image, const std::filesystem::path& work,
                       const std::filesystem::path& log, const Say& say) {
    BuildTree tree{
        target, arch, work, work / "sysroot", {}, work / "stage", log, find_program("ccache"), {}};
    say(fmt::format("MPICH: compiling for {}; copying the sysroot from the image",
                    target.describe));
    extract_sysroot(image, target.multiarch, tree.sysroot, work);
    say("MPICH: unpacking the source");
    extract_archive(spec.source, work / "src");
    for (const auto& e : std::filesystem::directory_iterator(work / "src")) {
        if (e.is_directory() && std::filesystem::exists(e.path() / "configure")) {
            tree.source_dir = e.path();
        }
    }
    if (tree.source_dir.empty()) {
        throw Error(ErrorCategory::recipe, spec.source.string(),
                    "not an MPICH source tarball (no configure script)");
    }
    write_compiler_wrappers(spec, target, work / "bin", tree.sysroot, tree.source_dir, tree.ccache);
    const std::string path_env = (work / "bin").string() + ":" +
                                 (std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin");
    tree.env = {{"PATH", path_env},
                {"CC", target.toolchain + "-gcc"},
                {"CXX", target.toolchain + "-g++"},
                {"CFLAGS", target.cflags},
                {"CXXFLAGS", target.cflags},
                {"CCACHE_DIR", (cache_dir() / "ccache").string()},
                {"CCACHE_MAXSIZE", "2G"},
                // what ccache needs to cache compiles that take the precompiled header
                {"CCACHE_SLOPPINESS", "pch_defines,time_macros"},
                // configure and libtool (run once per object) under dash rather than the
                // user's shell: a much cheaper start
                {"CONFIG_SHELL", "/bin/sh"},
                {"SHELL", "/bin/sh"}};
    if (spec.fortran) {
        tree.env["FC"] = target.toolchain + "-gfortran";
        tree.env["F77"] = target.toolchain + "-gfortran";
    }
    if (!tree.ccache.empty()) {
        run_logged({{tree.ccache.string(), "--zero-stats"}, {}, tree.env}, log);
    }
    return tree;
}

// Configure: MPICH's configure with a site file seeded with the target's facts.
void configure(const MpichBuildSpec& spec, BuildTree& tree, const StatusCallback& status,
               const Say& say) {
    std::vector<std::string> command{"./configure",
                                     "--host=" + tree.target.toolchain,
                                     "--prefix=" + spec.prefix,
                                     "--with-device=" + spec.device,
                                     "--disable-doc",
                                     "--disable-static",
                                     "--with-pm=hydra"};
    command.insert(command.end(), fast_build_flags.begin(), fast_build_flags.end());
    if (!spec.fortran) {
        command.emplace_back("--disable-fortran");
    }
    command.insert(command.end(), spec.configure_flags.begin(), spec.configure_flags.end());
    say("MPICH: sizes and alignments of the target's types");
    tree.env["CONFIG_SITE"] = (tree.work / "config.site").string();
    write_config_site(tree.work / "config.site", tree.work / "configure-caches",
                      target_type_facts(tree.env, tree.work, tree.log));
    const std::string configuring =
        fmt::format("MPICH {}: configuring", mpich_version(tree.source_dir));
    say(fmt::format("{} (about a minute; log {})", configuring, tree.log.string()));
    // Configure's test programs are all different and never compiled again: caching
    // them only costs (measured: 12 s more for a cold configure).
    auto configure_env = tree.env;
    configure_env["CCACHE_DISABLE"] = "1";
    run_logged({command, tree.source_dir, configure_env}, tree.log,
               BuildReporter(status, configuring));
}

// Compile: make -j over every core, after the precompiled header. Returns the number of
// files compiled.
size_t compile(const BuildTree& tree, const StatusCallback& status, const Say& say) {
    // Every libtool script configure wrote (MPICH's and its bundled packages') compiles
    // without starting libtool's helper processes.
    size_t fast = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(tree.source_dir)) {
        if (e.path().filename() == "libtool" && e.is_regular_file() &&
            add_libtool_compile_fast_path(e.path())) {
            ++fast;
        }
    }
    std::ofstream(tree.log, std::ios::app)
        << fmt::format("\npimint: libtool's compile fast path added to {} libtool scripts\n", fast);
    say("MPICH: precompiling mpiimpl.h");
    precompile_mpiimpl_header(tree.source_dir, tree.work, tree.env, tree.log);
    const unsigned jobs = std::max(1U, std::thread::hardware_concurrency());
    const std::string compiling = fmt::format("MPICH: compiling with {} jobs", jobs);
    say(fmt::format("{}{}", compiling, tree.ccache.empty() ? " (no ccache installed)" : ""));
    BuildReporter reporter(status, compiling);
    run_logged({{"make", fmt::format("-j{}", jobs)}, tree.source_dir, tree.env}, tree.log,
               std::ref(reporter));
    return reporter.compiled();
}

// Install: make install into the stage, cpi built against it, the wrappers pointed at the
// Pi's compilers, no build paths left.
void install(const MpichBuildSpec& spec, const BuildTree& tree, const Say& say) {
    say("MPICH: installing");
    run_logged({{"make", "install", "DESTDIR=" + tree.stage.string()}, tree.source_dir, tree.env},
               tree.log);
    const auto installed = tree.stage / spec.prefix.substr(1);
    const auto examples = tree.stage / spec.build_dir.substr(1) / "examples";
    std::filesystem::create_directories(examples);
    // The wrapper by its full path: gcc finds its own files from argv[0].
    run_logged({{(tree.work / "bin" / (tree.target.toolchain + "-gcc")).string(), "-O2",
                 "-I" + (installed / "include").string(), "examples/cpi.c", "-o",
                 (examples / "cpi").string(), "-L" + (installed / "lib").string(),
                 "-Wl,-rpath-link," + (installed / "lib").string(), "-lmpi", "-lm",
                 "-Wl,-rpath," + spec.prefix + "/lib", "-Wl,--enable-new-dtags"},
                tree.source_dir,
                tree.env},
               tree.log);
    std::filesystem::copy_file(tree.source_dir / "examples" / "cpi.c", examples / "cpi.c");
    point_wrappers_at_native_compilers(tree.target, installed / "bin");
    for (const auto& e : std::filesystem::recursive_directory_iterator(installed)) {
        if (e.path().extension() == ".la") {
            // libtool archives record build paths; Debian drops them too
            std::filesystem::remove(e.path());
        }
    }
    check_no_host_paths(tree.stage, {tree.work.string(), tree.sysroot.string()});
    check_code_runs_on_image(tree.stage, tree.image);
}

// "ccache 1100 of 1135 compiles (97%)", or that there is no ccache.
std::string ccache_summary(const BuildTree& tree) {
    if (tree.ccache.empty()) {
        return "no ccache";
    }
    const auto counts = ccache_counts(tree.ccache, tree.env);
    const long total = counts.hits + counts.misses;
    return fmt::format(
        "ccache {} of {} compiles ({:.0f}%)", counts.hits, total,
        total > 0 ? 100.0 * static_cast<double>(counts.hits) / static_cast<double>(total) : 0.0);
}

void build(const MpichBuildSpec& spec, const MpichTarget& target, const ImageArch& arch,
           ImageFs& image, const std::filesystem::path& work, const std::filesystem::path& archive,
           const std::filesystem::path& log, const StatusCallback& status) {
    const Say say = [&](const std::string& m) {
        if (status) {
            status(m);
        }
    };
    const auto t0 = std::chrono::steady_clock::now();
    BuildTree tree = prepare_tree(spec, target, arch, image, work, log, say);
    const auto t_configure = std::chrono::steady_clock::now();
    configure(spec, tree, status, say);
    const double configure_s = seconds_since(t_configure);
    const auto t_compile = std::chrono::steady_clock::now();
    const size_t compiled = compile(tree, status, say);
    const double compile_s = seconds_since(t_compile);
    const auto t_install = std::chrono::steady_clock::now();
    install(spec, tree, say);
    const double install_s = seconds_since(t_install);

    say("MPICH: packing the build for the cache");
    AtomicOutput out(archive);
    pack_tree(tree.stage, {spec.prefix.substr(1), spec.build_dir.substr(1)}, out.temp_path());
    out.commit();
    const std::string summary = fmt::format(
        "MPICH: built in {:.0f} s (configure {:.0f} s, compile {:.0f} s of {} files, install "
        "{:.0f} s; {})",
        seconds_since(t0), configure_s, compile_s, compiled, install_s, ccache_summary(tree));
    std::ofstream(log, std::ios::app) << "\npimint: " << summary << "\n";
    say(summary);
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

std::string cache_key(const MpichBuildSpec& spec, const MpichTarget& target, ImageFs& image) {
    const std::string gcc = target.toolchain + "-gcc";
    if (find_program(gcc).empty()) {
        throw Error(
            ErrorCategory::build, gcc,
            fmt::format(
                "the cross compiler is not installed; on Debian: apt-get install gcc-{0} g++-{0}",
                target.toolchain));
    }
    const std::string toolchain = run_capture({{gcc, "-dumpmachine"}, {}, {}}) +
                                  run_capture({{gcc, "-dumpfullversion"}, {}, {}});
    std::string flags;
    for (const auto& f : spec.configure_flags) {
        flags += f + "\n";
    }
    // The target's CPU and compiler prefix determine its flags and library directory.
    return sha256_text(fmt::format("{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
                                   build_recipe_version, sha256_file(spec.source), spec.prefix,
                                   spec.build_dir, spec.device, flags, spec.fortran, target.cpu,
                                   target.toolchain, toolchain, image_libc_version(image)))
        .substr(0, 24);
}

} // namespace

std::string mpich_cache_key(const MpichBuildSpec& spec, ImageFs& image) {
    return cache_key(spec, mpich_target(spec, read_image_arch(image)), image);
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
    const ImageArch arch = read_image_arch(image);
    const MpichTarget target = mpich_target(spec, arch);
    MpichArchive result;
    result.key = cache_key(spec, target, image);
    if (auto cached = cached_mpich_archive(result.key)) {
        result.path = *cached;
        result.from_cache = true;
        return result;
    }
    const auto dir = mpich_cache();
    std::filesystem::create_directories(dir);
    // One build at a time on this machine: runs on other output directories wait and
    // then take the result instead of building the same again, and every build happens
    // in the same directory, so its compiler command lines repeat from one build to the
    // next and ccache recognises them.
    const FdHandle lock = lock_cache(
        dir / "build.lock", "MPICH: another pimint is building MPICH; waiting for it", status);
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
    const auto work = dir / "build"; // what a killed build left is removed first
    const auto log = dir / (result.key + ".log");
    std::filesystem::remove(log);
    std::filesystem::remove_all(work);
    const RemoveOnExit cleanup(work);
    std::filesystem::create_directories(work);
    build(spec, target, arch, image, work, result.path, log, status);
    verify_archive(result.path);
    AtomicOutput sum(sum_file);
    write_text(sum.temp_path(), sha256_file(result.path) + "\n");
    sum.commit();
    return result;
}

} // namespace pimint
