// A cluster output directory admits one writer at a time (a second one fails at once
// with a clear error), and temporaries left by a killed run are removed while those of
// a live process are left alone.
#include "core/output_lock.hpp"
#include "disk_image.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>
#include <pimint/core/error.hpp>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace pimint;

TEST_CASE("a second writer of the same directory is refused, not queued") {
    test::TempDir dir;
    {
        const OutputDirLock first(dir.path());
        struct stat st {};
        REQUIRE(::stat((dir / ".pimint").c_str(), &st) == 0);
        CHECK((st.st_mode & 0777) == 0700);
        CHECK_THROWS_WITH_AS(OutputDirLock(dir.path()),
                             doctest::Contains("another pimint run is writing this directory"),
                             Error);
    }
    CHECK_NOTHROW(OutputDirLock(dir.path())); // released with the first
}

TEST_CASE("temporaries of a dead process are removed, a live one's are kept") {
    test::TempDir dir;
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::_exit(0);
    }
    ::waitpid(child, nullptr, 0); // now a PID no process has
    const auto dead = dir / (".pimint-tmp.worker001.img." + std::to_string(child));
    const auto live = dir / (".pimint-tmp.worker002.img." + std::to_string(::getpid()));
    const auto other = dir / "notes.txt";
    for (const auto& p : {dead, live, other}) {
        test::write_file(p, "x");
    }
    CHECK(remove_stale_temporaries(dir.path()) == 1);
    CHECK_FALSE(std::filesystem::exists(dead));
    CHECK(std::filesystem::exists(live));
    CHECK(std::filesystem::exists(other));
}
