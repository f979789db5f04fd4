// DiskImageReader against qemu's own tools: overlays that qemu-img and qemu-io write
// (data clusters, zeroed clusters, clusters left to the backing file, a disk larger
// than its backing file) read back as the raw disk they stand for; and pimint's own
// overlays on a stage still being written, which name it once it is final.
#include "image/disk_image_reader.hpp"
#include "image/qcow2_overlay.hpp"
#include "run.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>
#include <fstream>
#include <pimint/core/error.hpp>
#include <pimint/core/files.hpp>

using namespace pimint;
using pimint::test::run;
using pimint::test::TempDir;

namespace {

void write_at(const std::filesystem::path& p, std::uint64_t at, const std::string& bytes) {
    std::fstream f(p, std::ios::binary | std::ios::in | std::ios::out);
    REQUIRE(f);
    f.seekp(static_cast<std::streamoff>(at));
    f << bytes;
}

void make_sparse(const std::filesystem::path& p, std::uint64_t size) {
    create_sparse_file(p, size);
}

// qemu-img/qemu-io, which must succeed.
void qemu(const std::vector<std::string>& argv) {
    const auto r = run(argv);
    INFO(argv[0], ": ", r.err);
    REQUIRE(r.exit_code == 0);
}

std::string read_all(const DiskImageReader& d) {
    std::string out(d.size(), '\0');
    d.read(0, {out.data(), out.size()});
    return out;
}

} // namespace

TEST_CASE("a qcow2 overlay reads as the raw disk it was converted from") {
    TempDir dir;
    const std::uint64_t size = 8ULL << 20;
    make_sparse(dir / "stage.img", size);
    write_at(dir / "stage.img", 0, "boot sector of the stage");
    write_at(dir / "stage.img", 3 << 20, std::string(200000, 's'));
    sparse_copy(dir / "stage.img", dir / "node.img");
    write_at(dir / "node.img", 100, "the node's own bytes");
    write_at(dir / "node.img", (6 << 20) + 7, "a new file");
    // Only the clusters that differ from the backing file go into the overlay.
    qemu({"qemu-img", "convert", "-O", "qcow2", "-B", "stage.img", "-F", "raw",
          (dir / "node.img").string(), (dir / "node.qcow2").string()});
    const auto overlay = DiskImageReader::open(dir / "node.qcow2");
    CHECK(overlay->size() == size);
    CHECK(sha256_disk(*overlay) == sha256_file(dir / "node.img"));
    CHECK(read_all(*overlay) == read_all(*DiskImageReader::open(dir / "node.img")));
    CHECK(overlay->files() ==
          std::vector<std::filesystem::path>{dir / "node.qcow2", dir / "stage.img"});
    // The mapped ranges cover every byte that is not zero, and no more than the stage's
    // data plus the node's.
    std::uint64_t mapped = 0;
    for (const auto& e : overlay->data_ranges()) {
        mapped += e.end - e.start;
    }
    CHECK(mapped <= (4 << 20) + 2 * (64 << 10));
    const std::string all = read_all(*overlay);
    std::string only_mapped(all.size(), '\0');
    for (const auto& e : overlay->data_ranges()) {
        only_mapped.replace(e.start, e.end - e.start, all, e.start, e.end - e.start);
    }
    CHECK(only_mapped == all);
    CHECK(sha256_disk(*DiskImageReader::open(dir / "node.img")) == sha256_file(dir / "node.img"));
}

TEST_CASE("zeroed clusters and a disk larger than its backing file read as zeros") {
    TempDir dir;
    make_sparse(dir / "stage.img", 4 << 20);
    write_at(dir / "stage.img", 0, std::string(1 << 20, 'b'));
    qemu({"qemu-img", "create", "-q", "-f", "qcow2", "-b", "stage.img", "-F", "raw",
          (dir / "node.qcow2").string(), "6M"});
    qemu({"qemu-io", "-c", "write -z 65536 65536", "-c", "write -P 0x61 5242880 4096",
          (dir / "node.qcow2").string()});
    std::string want(6 << 20, '\0');
    want.replace(0, 1 << 20, std::string(1 << 20, 'b'));
    want.replace(65536, 65536, std::string(65536, '\0'));
    want.replace(5242880, 4096, std::string(4096, 'a'));
    const auto overlay = DiskImageReader::open(dir / "node.qcow2");
    CHECK(read_all(*overlay) == want);
    std::ofstream(dir / "want.img", std::ios::binary) << want;
    CHECK(sha256_disk(*overlay) == sha256_file(dir / "want.img"));
}

TEST_CASE("an overlay without its backing file, or compressed, is refused in one line") {
    TempDir dir;
    make_sparse(dir / "stage.img", 1 << 20);
    qemu({"qemu-img", "create", "-q", "-f", "qcow2", "-b", "stage.img", "-F", "raw",
          (dir / "node.qcow2").string(), "1M"});
    std::filesystem::rename(dir / "stage.img", dir / "elsewhere.img");
    try {
        DiskImageReader::open(dir / "node.qcow2");
        FAIL("an overlay without its backing file opened");
    } catch (const Error& e) {
        CHECK(e.category() == ErrorCategory::io);
        CHECK(std::string(e.what()).find("stage.img") != std::string::npos);
    }
    std::ofstream(dir / "data.img", std::ios::binary) << std::string(1 << 20, 'z');
    qemu({"qemu-img", "convert", "-c", "-O", "qcow2", (dir / "data.img").string(),
          (dir / "packed.qcow2").string()});
    try {
        DiskImageReader::open(dir / "packed.qcow2");
        FAIL("a compressed image opened");
    } catch (const Error& e) {
        CHECK(e.category() == ErrorCategory::usage);
        CHECK(std::string(e.what()).find("compressed") != std::string::npos);
    }
}

TEST_CASE("an overlay made on an unfinished stage names the final stage once renamed") {
    TempDir dir;
    const std::uint64_t size = 4ULL << 20;
    make_sparse(dir / "stage.tmp", size);
    write_at(dir / "stage.tmp", 0, "the stage, still being written");
    create_qcow2_overlay_on_unfinished(dir / "node.qcow2", dir / "stage.tmp", size, "node");
    // qemu reads it through the absolute path (locking off); pimint reads only a stage
    // next to the overlay, by its name, unless told the file.
    try {
        DiskImageReader::open(dir / "node.qcow2");
        FAIL("an overlay naming a qemu options string opened");
    } catch (const Error& e) {
        CHECK(e.category() == ErrorCategory::usage);
    }
    CHECK(read_all(*DiskImageReader::open(dir / "node.qcow2", dir / "stage.tmp"))
              .starts_with("the stage, still being written"));
    qemu({"qemu-io", "-c", "write -P 0x6e 1048576 4096", (dir / "node.qcow2").string()});

    write_at(dir / "stage.tmp", 0, "the stage, final");
    std::filesystem::rename(dir / "stage.tmp", dir / "stage.img");
    name_qcow2_backing(dir / "node.qcow2", dir / "stage.img", "node");
    std::string want = read_all(*DiskImageReader::open(dir / "stage.img"));
    want.replace(1 << 20, 4096, std::string(4096, 'n'));
    CHECK(read_all(*DiskImageReader::open(dir / "node.qcow2")) == want);
    const auto info = run({"qemu-img", "info", (dir / "node.qcow2").string()});
    CHECK(info.out.find("backing file: stage.img") != std::string::npos);
    CHECK(info.out.find("json:") == std::string::npos);
}
