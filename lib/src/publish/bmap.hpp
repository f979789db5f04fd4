// Block maps in bmaptool's format (version 2.0): which 4 KiB blocks of an image hold
// data, each range with its SHA-256, so bmaptool writes only those to the card and
// checks them as it goes. Free space that was trimmed is a hole in the image file and
// is left out.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace pimint {

struct BlockMap {
    std::string xml;          // the .bmap file's content
    std::string image_sha256; // of the whole image, computed in the same pass
    std::uint64_t image_size = 0;
    std::uint64_t mapped_bytes = 0;
};

BlockMap make_block_map(const std::filesystem::path& image);

} // namespace pimint
