#include "publish/bmap.hpp"

#include "core/file_handle.hpp"
#include "pimint/core/error.hpp"
#include "pimint/core/files.hpp"
#include "pimint/core/interrupt.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>
#include <vector>

namespace pimint {
namespace {

constexpr std::uint64_t block_size = 4096;

// Feeds bytes [from, to) of the file to both hashes (zeros for a hole need no read).
void hash_span(int fd, const std::filesystem::path& path, std::uint64_t from, std::uint64_t to,
               bool hole, Sha256& whole, Sha256* range, std::vector<char>& buffer) {
    while (from < to) {
        const auto want = static_cast<size_t>(std::min<std::uint64_t>(to - from, buffer.size()));
        if (hole) {
            std::fill_n(buffer.begin(), want, 0);
        } else if (::pread(fd, buffer.data(), want, static_cast<off_t>(from)) !=
                   static_cast<ssize_t>(want)) {
            throw Error(ErrorCategory::io, path.string(), "read failed while mapping blocks");
        }
        whole.update(buffer.data(), want);
        if (range != nullptr) {
            range->update(buffer.data(), want);
        }
        from += want;
    }
}

} // namespace

BlockMap make_block_map(const std::filesystem::path& image) {
    const FdHandle fd(image, O_RDONLY);
    BlockMap map;
    map.image_size = std::filesystem::file_size(image);
    const std::uint64_t blocks = (map.image_size + block_size - 1) / block_size;

    // Data extents widened to whole blocks and merged where they then touch.
    std::vector<Extent> ranges;
    for (const Extent& e : data_extents(image)) {
        const Extent r{
            e.start / block_size * block_size,
            std::min(map.image_size, (e.end + block_size - 1) / block_size * block_size)};
        if (!ranges.empty() && r.start <= ranges.back().end) {
            ranges.back().end = std::max(ranges.back().end, r.end);
        } else {
            ranges.push_back(r);
        }
    }

    Sha256 whole;
    std::vector<char> buffer(4 << 20);
    std::string lines;
    std::uint64_t pos = 0;
    for (const Extent& r : ranges) {
        check_interrupted();
        hash_span(fd.get(), image, pos, r.start, true, whole, nullptr, buffer);
        Sha256 range;
        hash_span(fd.get(), image, r.start, r.end, false, whole, &range, buffer);
        const std::uint64_t first = r.start / block_size;
        const std::uint64_t last = (r.end - 1) / block_size;
        lines += first == last ? fmt::format("        <Range chksum=\"{}\"> {} </Range>\n",
                                             range.hex(), first)
                               : fmt::format("        <Range chksum=\"{}\"> {}-{} </Range>\n",
                                             range.hex(), first, last);
        map.mapped_bytes += (last - first + 1) * block_size;
        pos = r.end;
    }
    hash_span(fd.get(), image, pos, map.image_size, true, whole, nullptr, buffer);
    map.image_sha256 = whole.hex();

    // The file's own checksum is taken with the field holding zeros, then filled in.
    const std::string zeros(64, '0');
    const auto render = [&](const std::string& checksum) {
        return fmt::format("<?xml version=\"1.0\" ?>\n"
                           "<!-- Block map of an image published by pimint, for bmaptool -->\n"
                           "<bmap version=\"2.0\">\n"
                           "    <ImageSize> {} </ImageSize>\n"
                           "    <BlockSize> {} </BlockSize>\n"
                           "    <BlocksCount> {} </BlocksCount>\n"
                           "    <MappedBlocksCount> {} </MappedBlocksCount>\n"
                           "    <ChecksumType> sha256 </ChecksumType>\n"
                           "    <BmapFileChecksum> {} </BmapFileChecksum>\n"
                           "    <BlockMap>\n{}    </BlockMap>\n"
                           "</bmap>\n",
                           map.image_size, block_size, blocks, map.mapped_bytes / block_size,
                           checksum, lines);
    };
    map.xml = render(sha256_text(render(zeros)));
    return map;
}

} // namespace pimint
