// The MPICH build's libtool compile fast path, against a real libtool script (Debian's
// libtool-bin, configured for shared libraries only as MPICH's --disable-static does): the
// same object and the same .lo file, written without libtool's helper processes (libtool
// writes a .lo through `mv`, the fast path never runs it); libtool still does everything
// else (linking, options the fast path does not know), and scripts configured otherwise
// are left alone.
#include "disk_image.hpp"
#include "mpich/libtool_compile.hpp"
#include "run.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>
#include <filesystem>
#include <string>

using namespace pimint;

namespace {

const std::filesystem::path system_libtool = "/usr/bin/libtool";

// A libtool script as configure --disable-static writes it.
void write_shared_only_libtool(const std::filesystem::path& to) {
    std::string text = test::read_file(system_libtool);
    const auto at = text.find("\nbuild_old_libs=yes\n");
    REQUIRE(at != std::string::npos);
    text.replace(at, 20, "\nbuild_old_libs=no\n");
    test::write_file(to, text);
}

// A tree with its libtool script, two sources and an `mv` that notes each use.
std::filesystem::path make_tree(const test::TempDir& dir, const std::string& name) {
    const auto root = dir / name;
    std::filesystem::create_directories(root / "src");
    std::filesystem::create_directories(root / "bin");
    write_shared_only_libtool(root / "libtool");
    test::write_file(root / "src" / "greet.c",
                     "#include <stdio.h>\nvoid greet(void) { puts(\"hello\"); }\n");
    test::write_file(root / "top.c", "int top(int x) { return x * 2; }\n");
    test::write_file(root / "bin" / "mv",
                     "#!/bin/sh\necho mv >> \"$MV_LOG\"\nexec /bin/mv \"$@\"\n");
    std::filesystem::permissions(root / "bin" / "mv", std::filesystem::perms::owner_all);
    return root;
}

// Runs `libtool ARGS` in `root` under /bin/sh, as make runs it in the MPICH build.
test::RunResult libtool(const std::filesystem::path& root, const std::string& args) {
    return test::run({"sh", "-c",
                      "cd '" + root.string() +
                          "' && PATH=\"$PWD/bin:$PATH\" MV_LOG=\"$PWD/mv.log\" " +
                          "/bin/sh ./libtool " + args});
}

bool used_mv(const std::filesystem::path& root) {
    const bool used = std::filesystem::exists(root / "mv.log");
    std::filesystem::remove(root / "mv.log");
    return used;
}

} // namespace

TEST_CASE("the fast path compiles as libtool does, without libtool's helpers") {
    REQUIRE_MESSAGE(
        std::filesystem::exists(system_libtool),
        "/usr/bin/libtool is missing: apt-get install libtool-bin (tools/install-deps)");
    test::TempDir dir;
    const auto plain = make_tree(dir, "plain");
    const auto fast = make_tree(dir, "fast");
    REQUIRE(add_libtool_compile_fast_path(fast / "libtool"));
    CHECK_FALSE(add_libtool_compile_fast_path(fast / "libtool")); // once is enough

    for (const std::string compile :
         {"--tag=CC --silent --mode=compile gcc -O2 -DGREETING -c -o src/greet.lo src/greet.c",
          "--tag=CC --mode=compile gcc -O2 -c -o top.lo top.c"}) {
        INFO(compile);
        const auto by_libtool = libtool(plain, compile);
        INFO(by_libtool.err);
        REQUIRE(by_libtool.exit_code == 0);
        CHECK(used_mv(plain));
        const auto by_fast_path = libtool(fast, compile);
        INFO(by_fast_path.err);
        REQUIRE(by_fast_path.exit_code == 0);
        CHECK_FALSE(used_mv(fast));
    }
    for (const char* file : {"src/greet.lo", "src/.libs/greet.o", "top.lo", ".libs/top.o"}) {
        INFO(file);
        CHECK(test::read_file(fast / file) == test::read_file(plain / file));
    }
    CHECK(test::read_file(fast / "src/greet.lo").find("pic_object='.libs/greet.o'") !=
          std::string::npos);

    // linking goes on to libtool, and takes the fast path's objects
    const auto link = libtool(fast, "--tag=CC --mode=link gcc -o libgreet.la src/greet.lo top.lo "
                                    "-rpath /usr/local/lib");
    INFO(link.err);
    CHECK(link.exit_code == 0);
    CHECK(std::filesystem::exists(fast / ".libs" / "libgreet.so"));

    // an option the fast path does not handle goes on to libtool, which writes the .lo
    std::filesystem::remove(fast / "top.lo");
    used_mv(fast);
    CHECK(
        libtool(fast, "--tag=CC --mode=compile gcc -prefer-pic -O2 -c -o top.lo top.c").exit_code ==
        0);
    CHECK(used_mv(fast));
    CHECK(test::read_file(fast / "top.lo") == test::read_file(plain / "top.lo"));

    // a compile that fails fails, and leaves no .lo behind
    test::write_file(fast / "broken.c", "int broken( {\n");
    const auto broken = libtool(fast, "--tag=CC --mode=compile gcc -c -o broken.lo broken.c");
    CHECK(broken.exit_code != 0);
    CHECK_FALSE(std::filesystem::exists(fast / "broken.lo"));
}

TEST_CASE("scripts configured otherwise are left as they were") {
    REQUIRE(std::filesystem::exists(system_libtool));
    test::TempDir dir;
    // static libraries too: libtool compiles each source twice, the fast path would not
    const auto both = dir / "both";
    std::filesystem::copy_file(system_libtool, both);
    const auto before = test::read_file(both);
    CHECK_FALSE(add_libtool_compile_fast_path(both));
    CHECK(test::read_file(both) == before);
    // not a libtool script at all
    test::write_file(dir / "libtool", "libtool is a directory name here\n");
    CHECK_FALSE(add_libtool_compile_fast_path(dir / "libtool"));
}
