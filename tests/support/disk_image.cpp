#include "disk_image.hpp"

#include "run.hpp"

#include <array>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>

namespace pimint::test {
namespace {

void put32(unsigned char* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) {
        p[i] = static_cast<unsigned char>(v >> (8 * i));
    }
}

} // namespace

void write_mbr_image(const std::filesystem::path& path, std::uint64_t size_bytes,
                     const std::vector<PartitionSpec>& partitions, std::uint32_t disk_id) {
    std::array<unsigned char, 512> mbr{};
    put32(&mbr[440], disk_id);
    for (size_t i = 0; i < partitions.size() && i < 4; ++i) {
        unsigned char* e = &mbr[446 + 16 * i];
        e[4] = partitions[i].type;
        put32(e + 8, partitions[i].start_sector);
        put32(e + 12, partitions[i].sectors);
    }
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(mbr.data()), mbr.size());
        if (!out) {
            throw std::runtime_error("cannot write " + path.string());
        }
    }
    std::filesystem::resize_file(path, size_bytes);
}

void write_pi_layout_image(const std::filesystem::path& path, const std::filesystem::path& root) {
    constexpr std::uint32_t boot_start = 2048;
    constexpr std::uint32_t boot_sectors = 16 * 2048;
    constexpr std::uint32_t root_start = boot_start + boot_sectors;
    constexpr std::uint32_t root_sectors = 32 * 2048;
    write_mbr_image(path, std::uint64_t{root_start + root_sectors} * 512,
                    {{0x0c, boot_start, boot_sectors}, {0x83, root_start, root_sectors}});
    const std::vector<std::vector<std::string>> commands{
        {"mkfs.vfat", "-n", "boot", "--offset=" + std::to_string(boot_start), path.string(),
         std::to_string(boot_sectors / 2)},
        {"mke2fs", "-q", "-t", "ext4", "-L", "rootfs", "-d", root.string(), "-E",
         "offset=" + std::to_string(std::uint64_t{root_start} * 512), path.string(),
         std::to_string(root_sectors / 2) + "k"}};
    for (const auto& command : commands) {
        const RunResult r = run(command);
        if (r.exit_code != 0) {
            throw std::runtime_error(command.front() + " failed: " + r.err);
        }
    }
}

void write_file(const std::filesystem::path& path, const std::string& content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out) {
        throw std::runtime_error("cannot write " + path.string());
    }
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::int64_t mtime_ns(const std::filesystem::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return -1;
    }
    return std::int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

void zero_range(const std::filesystem::path& path, std::uint64_t offset, std::uint64_t length) {
    std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(static_cast<std::streamoff>(offset));
    const std::string zeros(1 << 16, '\0');
    while (length > 0) {
        const auto n = std::min<std::uint64_t>(length, zeros.size());
        f.write(zeros.data(), static_cast<std::streamsize>(n));
        length -= n;
    }
    if (!f) {
        throw std::runtime_error("cannot zero a range of " + path.string());
    }
}

} // namespace pimint::test
