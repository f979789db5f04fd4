// burn_card's read-back: a card that no longer holds what was written (here, a byte of
// the target file changed between the sync and the read-back, as a faulty card or one
// pulled out would give) fails with Error(target) naming the place, and a file target
// never appears under its name. Unchanged, the same burn verifies.
#include "temp_dir.hpp"

#include <doctest/doctest.h>
#include <fstream>
#include <pimint/cards/burn.hpp>
#include <pimint/core/error.hpp>
#include <pimint/core/files.hpp>
#include <random>

using namespace pimint;
using pimint::test::TempDir;

namespace {

// 24 MiB with random data at three places and holes elsewhere.
std::filesystem::path make_image(const TempDir& dir) {
    const auto image = dir / "node.img";
    create_sparse_file(image, 24 << 20);
    std::mt19937 random(7);
    std::fstream f(image, std::ios::binary | std::ios::in | std::ios::out);
    for (const std::uint64_t at : {0ULL, 9ULL << 20, (23ULL << 20) + 4096}) {
        std::string data(300000, '\0');
        for (auto& c : data) {
            c = static_cast<char>(random());
        }
        f.seekp(static_cast<std::streamoff>(at));
        f.write(data.data(), static_cast<std::streamsize>(
                                 std::min<std::uint64_t>(data.size(), (24ULL << 20) - at)));
    }
    return image;
}

// The file being written under a temporary name in `dir`.
std::filesystem::path temporary_in(const std::filesystem::path& dir) {
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        if (e.path().filename().string().starts_with(AtomicOutput::temp_prefix)) {
            return e.path();
        }
    }
    return {};
}

} // namespace

TEST_CASE("a target that reads back differently fails the burn and leaves no file") {
    TempDir dir;
    const auto image = make_image(dir);
    std::filesystem::create_directory(dir / "cards");
    const BurnSource source = burn_source(image, "");

    const BurnResult good = burn_card(source, probe_target(dir / "cards" / "good.img"));
    CHECK(good.sha256 == sha256_file(image));
    CHECK(sha256_file(dir / "cards" / "good.img") == sha256_file(image));

    bool corrupted = false;
    const auto corrupt = [&](const BurnProgress& p) {
        if (p.phase == "syncing" && !corrupted) {
            const auto written = temporary_in(dir / "cards");
            REQUIRE_FALSE(written.empty());
            std::fstream f(written, std::ios::binary | std::ios::in | std::ios::out);
            constexpr std::streamoff at = (9 << 20) + 1000;
            f.seekg(at);
            const char was = static_cast<char>(f.get());
            f.seekp(at);
            f.put(static_cast<char>(was ^ 0x5a));
            corrupted = true;
        }
    };
    try {
        burn_card(source, probe_target(dir / "cards" / "bad.img"), corrupt);
        FAIL("a target that reads back differently verified");
    } catch (const Error& e) {
        CHECK(e.category() == ErrorCategory::target);
        CHECK(std::string(e.what()).find("reads back differently") != std::string::npos);
    }
    CHECK(corrupted);
    CHECK_FALSE(std::filesystem::exists(dir / "cards" / "bad.img"));
    CHECK(temporary_in(dir / "cards").empty());
}
