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

// Bump when the build procedure changes, so older cache entries are not reused.
constexpr const char* build_recipe_version = "mpich-cross-3";

// Configure flags that make the build cheaper and change nothing that is installed:
// a build made once needs no dependency tracking, and MPICH's test suite, whose
// configure (with its own sub-configure) runs by default, is never built.
constexpr std::array<const char*, 2> fast_build_flags{"--disable-dependency-tracking",
                                                      "--no-recursion"};

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
// build's directories in __FILE__ and debug information to the paths on the Pi. With
// `ccache`, every compile goes through it: the build directory is the same for every
// build, so a build for another image reuses each object whose inputs did not change
// (-fpch-preprocess lets it see the precompiled header below). -pipe spares the
// temporary files between compiler passes; none of these change the objects.
void write_compiler_wrappers(const MpichBuildSpec& spec, const std::filesystem::path& bin,
                             const std::filesystem::path& sysroot,
                             const std::filesystem::path& source_dir,
                             const std::filesystem::path& ccache) {
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

// Type sizes and alignments that MPICH's configures ask about, answered for the target in
// one compile of the seed below (its `.size` directives) instead of the bisection of
// many compiles that autoconf runs for each when it cannot run the target's programs.
// Each entry: autoconf's cache variable, then the expression whose value it holds,
// written as autoconf's AC_CHECK_SIZEOF and AC_CHECK_ALIGNOF compute it. Types that may
// not exist on a target (__float128, _Float16) are left to configure, which then
// finds out at once that they do not compile.
struct TargetFact {
    const char* variable;
    const char* expression;
};

constexpr std::array c_facts{
    TargetFact{"ac_cv_sizeof_char", "sizeof(char)"},
    TargetFact{"ac_cv_sizeof_unsigned_char", "sizeof(unsigned char)"},
    TargetFact{"ac_cv_sizeof_short", "sizeof(short)"},
    TargetFact{"ac_cv_sizeof_unsigned_short", "sizeof(unsigned short)"},
    TargetFact{"ac_cv_sizeof_int", "sizeof(int)"},
    TargetFact{"ac_cv_sizeof_unsigned_int", "sizeof(unsigned int)"},
    TargetFact{"ac_cv_sizeof_long", "sizeof(long)"},
    TargetFact{"ac_cv_sizeof_unsigned_long", "sizeof(unsigned long)"},
    TargetFact{"ac_cv_sizeof_long_long", "sizeof(long long)"},
    TargetFact{"ac_cv_sizeof_unsigned_long_long", "sizeof(unsigned long long)"},
    TargetFact{"ac_cv_sizeof_float", "sizeof(float)"},
    TargetFact{"ac_cv_sizeof_double", "sizeof(double)"},
    TargetFact{"ac_cv_sizeof_long_double", "sizeof(long double)"},
    TargetFact{"ac_cv_sizeof_void_p", "sizeof(void *)"},
    TargetFact{"ac_cv_sizeof_size_t", "sizeof(size_t)"},
    TargetFact{"ac_cv_sizeof_wchar_t", "sizeof(wchar_t)"},
    TargetFact{"ac_cv_sizeof_int8_t", "sizeof(int8_t)"},
    TargetFact{"ac_cv_sizeof_int16_t", "sizeof(int16_t)"},
    TargetFact{"ac_cv_sizeof_int32_t", "sizeof(int32_t)"},
    TargetFact{"ac_cv_sizeof_int64_t", "sizeof(int64_t)"},
    TargetFact{"ac_cv_sizeof_uint8_t", "sizeof(uint8_t)"},
    TargetFact{"ac_cv_sizeof_uint16_t", "sizeof(uint16_t)"},
    TargetFact{"ac_cv_sizeof_uint32_t", "sizeof(uint32_t)"},
    TargetFact{"ac_cv_sizeof_uint64_t", "sizeof(uint64_t)"},
    TargetFact{"ac_cv_sizeof__Bool", "sizeof(_Bool)"},
    TargetFact{"ac_cv_sizeof_float__Complex", "sizeof(float _Complex)"},
    TargetFact{"ac_cv_sizeof_double__Complex", "sizeof(double _Complex)"},
    TargetFact{"ac_cv_sizeof_long_double__Complex", "sizeof(long double _Complex)"},
    // MPICH's pair types (MPI_FLOAT_INT and the others).
    TargetFact{"ac_cv_sizeof_float_int", "sizeof(struct { float a; int b; })"},
    TargetFact{"ac_cv_sizeof_double_int", "sizeof(struct { double a; int b; })"},
    TargetFact{"ac_cv_sizeof_long_int", "sizeof(struct { long a; int b; })"},
    TargetFact{"ac_cv_sizeof_short_int", "sizeof(struct { short a; int b; })"},
    TargetFact{"ac_cv_sizeof_two_int", "sizeof(struct { int a; int b; })"},
    TargetFact{"ac_cv_sizeof_long_double_int", "sizeof(struct { long double a; int b; })"},
    TargetFact{"ac_cv_alignof_char", "offsetof(struct { char c; char x; }, x)"},
    TargetFact{"ac_cv_alignof_short", "offsetof(struct { char c; short x; }, x)"},
    TargetFact{"ac_cv_alignof_int", "offsetof(struct { char c; int x; }, x)"},
    TargetFact{"ac_cv_alignof_long", "offsetof(struct { char c; long x; }, x)"},
    TargetFact{"ac_cv_alignof_long_long", "offsetof(struct { char c; long long x; }, x)"},
    TargetFact{"ac_cv_alignof_float", "offsetof(struct { char c; float x; }, x)"},
    TargetFact{"ac_cv_alignof_double", "offsetof(struct { char c; double x; }, x)"},
    TargetFact{"ac_cv_alignof_long_double", "offsetof(struct { char c; long double x; }, x)"},
    TargetFact{"ac_cv_alignof_int8_t", "offsetof(struct { char c; int8_t x; }, x)"},
    TargetFact{"ac_cv_alignof_int16_t", "offsetof(struct { char c; int16_t x; }, x)"},
    TargetFact{"ac_cv_alignof_int32_t", "offsetof(struct { char c; int32_t x; }, x)"},
    TargetFact{"ac_cv_alignof_int64_t", "offsetof(struct { char c; int64_t x; }, x)"},
};

// MPICH's C++ types; the templates are what makes their bisection the slowest checks.
constexpr std::array cxx_facts{
    TargetFact{"ac_cv_sizeof_bool", "sizeof(bool)"},
    TargetFact{"ac_cv_sizeof_Complex", "sizeof(std::complex<float>)"},
    TargetFact{"ac_cv_sizeof_DoubleComplex", "sizeof(std::complex<double>)"},
    TargetFact{"ac_cv_sizeof_LongDoubleComplex", "sizeof(std::complex<long double>)"},
};

// Compiles `facts` for the target (assembly only: nothing has to run) and returns
// "variable=value" lines for config.site.
template <size_t N>
std::string target_facts(const std::array<TargetFact, N>& facts, const std::string& compiler,
                         const std::string& header, const std::filesystem::path& work,
                         const std::map<std::string, std::string>& env,
                         const std::filesystem::path& log) {
    const bool cxx = compiler.ends_with("g++");
    const auto source = work / (cxx ? "target-facts.cpp" : "target-facts.c");
    const auto assembly = work / (cxx ? "target-facts-cxx.s" : "target-facts.s");
    std::string program = header;
    // Initialised, so that each array is a defined object with its size stated (not a
    // common symbol); names of variables are not mangled in C++ either.
    for (size_t i = 0; i < facts.size(); ++i) {
        program += fmt::format("char pimint_fact_{}[{}] = {{1}};\n", i, facts[i].expression);
    }
    write_text(source, program);
    const auto flags = env.at(cxx ? "CXXFLAGS" : "CFLAGS");
    run_logged(
        {{"sh", "-c",
          fmt::format("{} {} -S -o {} {}", compiler, flags, assembly.string(), source.string())},
         work,
         env},
        log);
    // gcc states each array's size in the assembly: ".size pimint_fact_3, 8".
    std::map<size_t, std::string> sizes;
    const std::string listing = read_text(assembly);
    for (auto line : text::split_lines(listing)) {
        constexpr std::string_view size_directive = ".size\tpimint_fact_";
        const auto at = line.find(size_directive);
        if (at == std::string_view::npos) {
            continue;
        }
        const auto rest = line.substr(at + size_directive.size());
        const auto comma = rest.find(", ");
        if (comma != std::string_view::npos) {
            sizes[std::stoul(std::string(rest.substr(0, comma)))] =
                std::string(rest.substr(comma + 2));
        }
    }
    std::string lines;
    for (size_t i = 0; i < facts.size(); ++i) {
        if (!sizes.count(i)) {
            throw Error(ErrorCategory::build, assembly.string(),
                        fmt::format("no size found for {}", facts[i].variable));
        }
        lines += fmt::format("{}=${{{}={}}}\n", facts[i].variable, facts[i].variable, sizes[i]);
    }
    return lines;
}

// Every configure of the build, MPICH's and those it runs for its bundled packages,
// reads this site file (CONFIG_SITE). Configures that run with the same compilers and
// flags share their answers, as autoconf's `configure -C` shares one cache among
// sub-directories: MPICH hands --cache-file=/dev/null to its sub-configures, so the site
// file names a cache file of each configure's own, keyed by its flags, and loads what
// the configures before it with the same flags found (without their recorded
// environment, which autoconf would otherwise compare with the current one). The facts
// about the target's types come first.
void write_config_site(const std::filesystem::path& site, const std::filesystem::path& caches,
                       const std::string& facts) {
    std::filesystem::create_directories(caches);
    write_text(site, fmt::format(R"SITE(# Written by pimint for one MPICH build.
{facts}pimint_flags=$(printf '%s|' "$CC" $CFLAGS "$CXX" $CXXFLAGS $CPPFLAGS $LDFLAGS $LIBS | cksum | cut -d' ' -f1)
for pimint_cache in {caches}/$pimint_flags.*.cache; do
    test -r "$pimint_cache" && eval "$(grep -v '^ac_cv_env_' "$pimint_cache")"
done
cache_file={caches}/$pimint_flags.$$.cache
)SITE",
                                 fmt::arg("facts", facts), fmt::arg("caches", caches.string())));
}

// Turns what configure and make write to the build log into status lines: which of
// MPICH's bundled packages configure is checking, and how many files make has compiled.
class BuildReporter {
public:
    BuildReporter(const StatusCallback& status, std::string phase)
        : status_(status)
        , phase_(std::move(phase)) {}

    void operator()(std::string_view fresh) {
        partial_ += fresh;
        size_t begin = 0;
        for (size_t end; (end = partial_.find('\n', begin)) != std::string::npos; begin = end + 1) {
            line(std::string_view(partial_).substr(begin, end - begin));
        }
        partial_.erase(0, begin);
        if (compiled_ != reported_) {
            reported_ = compiled_;
            say(fmt::format("{}: {} files compiled", phase_, compiled_));
        }
    }

    size_t compiled() const { return compiled_; }

private:
    void line(std::string_view l) {
        // Silent rules ("  CC       src/mpi/comm/comm_split.lo"), MPICH's own and its
        // bundled packages'.
        const auto word = l.find_first_not_of(' ');
        if (word == 2 && (l.substr(2).starts_with("CC ") || l.substr(2).starts_with("CXX "))) {
            ++compiled_;
            return;
        }
        // "configure: ===== configuring src/mpl =====" and autoconf's
        // "=== configuring in test/mpi (...)".
        const auto at = l.find("configuring ");
        if (at != std::string_view::npos && l.find("===") != std::string_view::npos) {
            auto what = l.substr(at + 12);
            if (what.starts_with("in ")) {
                what.remove_prefix(3);
            }
            what = what.substr(0, what.find_first_of(" ="));
            say(fmt::format("{} ({})", phase_, what));
        }
    }

    void say(const std::string& m) const {
        if (status_) {
            status_(m);
        }
    }

    const StatusCallback& status_;
    std::string phase_;
    std::string partial_;
    size_t compiled_ = 0;
    size_t reported_ = 0;
};

// Nearly every source of libmpi starts with #include "mpiimpl.h", about 30,000 lines
// once preprocessed. Compiled once as a precompiled header, with the same flags as
// libmpi's objects (gcc takes it only where they match), it spares each of them
// parsing it: the objects come out byte for byte the same. The header is named as the
// compiles find it (./src/include/), since that path is what __FILE__ records.
void precompile_mpiimpl_header(const std::filesystem::path& source_dir,
                               const std::filesystem::path& work,
                               const std::map<std::string, std::string>& env,
                               const std::filesystem::path& log) {
    if (!std::filesystem::exists(source_dir / "src" / "include" / "mpiimpl.h")) {
        return; // not MPICH 3.3 or later: nothing to gain
    }
    const auto flags_makefile = work / "libmpi-flags.mk";
    write_text(flags_makefile,
               "pimint-libmpi-flags:\n\t@echo $(DEFS) $(DEFAULT_INCLUDES) $(INCLUDES) "
               "$(lib_libmpi_la_CPPFLAGS) $(CPPFLAGS) $(AM_CFLAGS) $(CFLAGS)\n");
    const std::string printed = run_capture(
        {{"make", "-s", "-f", "Makefile", "-f", flags_makefile.string(), "pimint-libmpi-flags"},
         source_dir,
         env});
    const std::string flags(text::trim(printed));
    // libtool adds these when it compiles the objects of a shared library.
    run_logged({{"sh", "-c",
                 fmt::format("{} {} -fPIC -DPIC -x c-header ./src/include/mpiimpl.h -o "
                             "./src/include/mpiimpl.h.gch",
                             env.at("CC"), flags)},
                source_dir,
                env},
               log);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// ccache's counters, zeroed before a build so that they describe it alone (builds take
// the machine-wide build lock, so no other pimint build counts meanwhile).
struct CcacheCounts {
    long hits = 0;
    long misses = 0;
};

CcacheCounts ccache_counts(const std::filesystem::path& ccache,
                           const std::map<std::string, std::string>& env) {
    CcacheCounts counts;
    const std::string out = run_capture({{ccache.string(), "--print-stats"}, {}, env});
    for (auto l : text::split_lines(out)) {
        const auto tab = l.find('\t');
        if (tab == std::string_view::npos) {
            continue;
        }
        const auto name = l.substr(0, tab);
        const long value = std::atol(std::string(l.substr(tab + 1)).c_str());
        if (name == "direct_cache_hit" || name == "preprocessed_cache_hit") {
            counts.hits += value;
        } else if (name == "cache_miss") {
            counts.misses += value;
        }
    }
    return counts;
}

void build(const MpichBuildSpec& spec, ImageFs& image, const std::filesystem::path& work,
           const std::filesystem::path& archive, const std::filesystem::path& log,
           const StatusCallback& status) {
    const auto say = [&](const std::string& m) {
        if (status) {
            status(m);
        }
    };
    const auto t0 = std::chrono::steady_clock::now();
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
    const auto ccache = find_program("ccache");
    write_compiler_wrappers(spec, work / "bin", sysroot, source_dir, ccache);
    const std::string path_env = (work / "bin").string() + ":" +
                                 (std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin");
    std::map<std::string, std::string> env{{"PATH", path_env},
                                           {"CC", spec.toolchain + "-gcc"},
                                           {"CXX", spec.toolchain + "-g++"},
                                           {"CFLAGS", cpu_flags(spec)},
                                           {"CXXFLAGS", cpu_flags(spec)},
                                           {"CCACHE_DIR", (cache_dir() / "ccache").string()},
                                           {"CCACHE_MAXSIZE", "2G"},
                                           // what ccache needs to cache compiles that
                                           // take the precompiled header
                                           {"CCACHE_SLOPPINESS", "pch_defines,time_macros"},
                                           // configure and libtool (run once per
                                           // object) under dash rather than the
                                           // user's shell: a much cheaper start
                                           {"CONFIG_SHELL", "/bin/sh"},
                                           {"SHELL", "/bin/sh"}};
    std::vector<std::string> configure{"./configure",
                                       "--host=" + spec.toolchain,
                                       "--prefix=" + spec.prefix,
                                       "--with-device=" + spec.device,
                                       "--disable-doc",
                                       "--disable-static",
                                       "--with-pm=hydra"};
    configure.insert(configure.end(), fast_build_flags.begin(), fast_build_flags.end());
    if (spec.fortran) {
        env["FC"] = spec.toolchain + "-gfortran";
        env["F77"] = spec.toolchain + "-gfortran";
    } else {
        configure.emplace_back("--disable-fortran");
    }
    configure.insert(configure.end(), spec.configure_flags.begin(), spec.configure_flags.end());
    if (!ccache.empty()) {
        run_logged({{ccache.string(), "--zero-stats"}, {}, env}, log);
    }
    say("MPICH: sizes and alignments of the target's types");
    env["CONFIG_SITE"] = (work / "config.site").string();
    write_config_site(
        work / "config.site", work / "configure-caches",
        target_facts(c_facts, env.at("CC"),
                     "#include <stddef.h>\n#include <stdint.h>\n#include <complex.h>\n", work, env,
                     log) +
            target_facts(cxx_facts, env.at("CXX"), "#include <complex>\n", work, env, log));

    const auto t_configure = std::chrono::steady_clock::now();
    const std::string configuring = fmt::format("MPICH {}: configuring", mpich_version(source_dir));
    say(fmt::format("{} (about a minute; log {})", configuring, log.string()));
    // Configure's test programs are all different and never compiled again: caching
    // them only costs (measured: 12 s more for a cold configure).
    auto configure_env = env;
    configure_env["CCACHE_DISABLE"] = "1";
    run_logged({configure, source_dir, configure_env}, log, BuildReporter(status, configuring));
    const double configure_s = seconds_since(t_configure);

    const auto t_compile = std::chrono::steady_clock::now();
    say("MPICH: precompiling mpiimpl.h");
    precompile_mpiimpl_header(source_dir, work, env, log);
    const unsigned jobs = std::max(1U, std::thread::hardware_concurrency());
    const std::string compiling = fmt::format("MPICH: compiling with {} jobs", jobs);
    say(fmt::format("{}{}", compiling, ccache.empty() ? " (no ccache installed)" : ""));
    BuildReporter compile_reporter(status, compiling);
    run_logged({{"make", fmt::format("-j{}", jobs)}, source_dir, env}, log,
               std::ref(compile_reporter));
    const double compile_s = seconds_since(t_compile);

    const auto t_install = std::chrono::steady_clock::now();
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
    const double install_s = seconds_since(t_install);
    say("MPICH: packing the build for the cache");
    AtomicOutput out(archive);
    pack_tree(stage, {spec.prefix.substr(1), spec.build_dir.substr(1)}, out.temp_path());
    out.commit();

    std::string cached = "no ccache";
    if (!ccache.empty()) {
        const auto counts = ccache_counts(ccache, env);
        const long total = counts.hits + counts.misses;
        cached = fmt::format("ccache {} of {} compiles ({:.0f}%)", counts.hits, total,
                             total > 0 ? 100.0 * static_cast<double>(counts.hits) /
                                             static_cast<double>(total)
                                       : 0.0);
    }
    const std::string summary = fmt::format(
        "MPICH: built in {:.0f} s (configure {:.0f} s, compile {:.0f} s of {} files, install "
        "{:.0f} s; {})",
        seconds_since(t0), configure_s, compile_s, compile_reporter.compiled(), install_s, cached);
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
    // One build at a time on this machine: runs on other output directories wait and
    // then take the result instead of building the same again, and every build happens
    // in the same directory, so its compiler command lines repeat from one build to the
    // next and ccache recognises them.
    const auto lock_path = dir / "build.lock";
    const FdHandle lock(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
        if (status) {
            status("MPICH: another pimint is building MPICH; waiting for it");
        }
        // Polled, so Ctrl-C still stops the wait.
        while (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
            if (errno != EWOULDBLOCK && errno != EINTR) {
                throw Error(ErrorCategory::io, lock_path.string(),
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
    const auto work = dir / "build"; // what a killed build left is removed first
    const auto log = dir / (result.key + ".log");
    std::filesystem::remove(log);
    std::filesystem::remove_all(work);
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
