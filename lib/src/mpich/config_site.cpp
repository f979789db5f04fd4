// MPICH's configures made cheap: the target's type sizes answered in two compiles, and a
// site file through which the configures share what they found.
#include "mpich/config_site.hpp"

#include "core/subprocess.hpp"
#include "core/text.hpp"
#include "core/text_file.hpp"
#include "pimint/core/error.hpp"

#include <array>
#include <fmt/format.h>
#include <map>

namespace pimint {
namespace {

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

} // namespace

std::string target_type_facts(const std::map<std::string, std::string>& env,
                              const std::filesystem::path& work, const std::filesystem::path& log) {
    return target_facts(c_facts, env.at("CC"),
                        "#include <stddef.h>\n#include <stdint.h>\n#include <complex.h>\n", work,
                        env, log) +
           target_facts(cxx_facts, env.at("CXX"), "#include <complex>\n", work, env, log);
}

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

} // namespace pimint
