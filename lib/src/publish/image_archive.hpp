// Compressed downloads of an image with libarchive: an xz or gzip stream of the raw
// image, or a zip holding it as its one entry (what Raspberry Pi Imager and
// balenaEtcher accept). Every byte is dated and owned deterministically, so the same
// image gives the same archive.
#pragma once

#include "pimint/publish/publish.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace pimint {

struct ImageArchiveOptions {
    ArchiveFormat format = ArchiveFormat::xz;
    std::string entry_name;        // the image's name inside a zip
    std::int64_t mtime = 0;        // the zip entry's date
    unsigned threads = 0;          // xz encoder threads; 0 = one per core
    std::optional<unsigned> level; // 0 to 9; empty: the format's default
};

// Writes `archive` (created or truncated) from `image`.
void write_image_archive(const std::filesystem::path& image, const std::filesystem::path& archive,
                         const ImageArchiveOptions& options);

} // namespace pimint
