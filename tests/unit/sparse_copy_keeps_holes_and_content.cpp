#include "disk_image.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>
#include <fstream>
#include <pimint/core/files.hpp>
#include <sys/stat.h>

using namespace pimint;
using pimint::test::TempDir;

namespace {

std::uint64_t allocated_bytes(const std::filesystem::path& p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return static_cast<std::uint64_t>(st.st_blocks) * 512;
}

} // namespace

TEST_CASE("sparse_copy copies data extents and keeps holes") {
    TempDir dir;
    const auto src = dir / "src.img";
    const std::uint64_t size = 64ULL << 20;
    {
        std::ofstream out(src, std::ios::binary);
        out << "start of the image";
        out.seekp(32 << 20);
        out << std::string(1 << 20, 'x');
        out.seekp(static_cast<std::streamoff>(size - 5));
        out << "tail!";
    }
    const CopyStats stats = sparse_copy(src, dir / "dst.img");
    CHECK(stats.size == size);
    CHECK(std::filesystem::file_size(dir / "dst.img") == size);
    CHECK(sha256_file(src) == sha256_file(dir / "dst.img"));
    CHECK(stats.data_bytes < size / 4);
    CHECK(allocated_bytes(dir / "dst.img") < size / 4);
}

TEST_CASE("sparse_copy of an empty file gives an empty file") {
    TempDir dir;
    pimint::test::write_file(dir / "empty", "");
    CHECK(sparse_copy(dir / "empty", dir / "copy").size == 0);
    CHECK(std::filesystem::file_size(dir / "copy") == 0);
}

TEST_CASE("sha256_file matches a known digest") {
    TempDir dir;
    pimint::test::write_file(dir / "abc", "abc");
    CHECK(sha256_file(dir / "abc") ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("sha256_file hashes holes as the zeros they read as") {
    TempDir dir;
    // Data, a hole of several hash buffers, data, and a trailing hole.
    const std::string head = "head of the file";
    const std::string middle(3 << 20, 'm');
    const std::uint64_t middle_at = 5ULL << 20;
    const std::uint64_t size = 16ULL << 20;
    {
        std::ofstream out(dir / "sparse", std::ios::binary);
        out << head;
        out.seekp(static_cast<std::streamoff>(middle_at));
        out << middle;
    }
    std::filesystem::resize_file(dir / "sparse", size);
    std::string dense(size, '\0');
    dense.replace(0, head.size(), head);
    dense.replace(middle_at, middle.size(), middle);
    CHECK(allocated_bytes(dir / "sparse") < size / 2);
    CHECK(sha256_file(dir / "sparse") == sha256_text(dense));
    pimint::test::write_file(dir / "dense", dense);
    CHECK(sha256_file(dir / "dense") == sha256_text(dense));
}

TEST_CASE("sparse_copy_range copies a range to another offset and out again, holes kept") {
    TempDir dir;
    // An "image" of data, hole, data; placed at 3 MiB in a larger file, then copied out.
    const std::uint64_t size = 8ULL << 20;
    const std::string head(1 << 20, 'h');
    const std::string tail(1 << 20, 't');
    {
        std::ofstream out(dir / "image", std::ios::binary);
        out << head;
        out.seekp(static_cast<std::streamoff>(size - tail.size()));
        out << tail;
    }
    std::string dense(size, '\0');
    dense.replace(0, head.size(), head);
    dense.replace(size - tail.size(), tail.size(), tail);
    const std::uint64_t at = 3ULL << 20;
    create_sparse_file(dir / "holder", 16ULL << 20);
    const CopyStats in = sparse_copy_range(dir / "image", 0, size, dir / "holder", at);
    CHECK(in.size == size);
    CHECK(std::filesystem::file_size(dir / "holder") == 16ULL << 20);
    std::string holder(16ULL << 20, '\0');
    holder.replace(at, size, dense);
    CHECK(sha256_file(dir / "holder") == sha256_text(holder));

    const CopyStats out = sparse_copy_range(dir / "holder", at, size, dir / "out", 0);
    CHECK(out.size == size);
    CHECK(std::filesystem::file_size(dir / "out") == size);
    CHECK(sha256_file(dir / "out") == sha256_text(dense));
    CHECK(allocated_bytes(dir / "out") < size / 2);

    // Once copied out, the range can be freed in the holder.
    punch_hole(dir / "holder", at, size);
    CHECK(sha256_file(dir / "holder") == sha256_text(std::string(16ULL << 20, '\0')));
}
