// Images made ready for download: each input image is copied, checked for secrets,
// optionally shrunk, its free space discarded (deleted data neither ships nor
// compresses), and compressed with libarchive; beside the archives go a bmaptool block
// map per image, SHA256SUMS, and an os_list JSON that Raspberry Pi Imager reads as a
// custom repository. Inputs are only read.
#pragma once

#include "pimint/image/appliance.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace pimint {

enum class ArchiveFormat {
    xz,  // NAME.img.xz, multi-threaded (the default)
    zip, // NAME.zip holding NAME.img
    gz,  // NAME.img.gz
};

// "xz", "zip" or "gz"; throws Error(usage) naming --format otherwise.
ArchiveFormat parse_archive_format(const std::string& name);
// ".img.xz", ".zip" or ".img.gz".
std::string archive_suffix(ArchiveFormat format);

struct PublishOptions {
    // Image files, or directories: a directory's *.img files are taken, and those of
    // its subdirectories (a classroom's clusters) named "SUBDIR-NAME".
    std::vector<std::filesystem::path> inputs;
    std::filesystem::path output_dir;
    ArchiveFormat format = ArchiveFormat::xz;
    // Publish even when an image holds a private user key or a default password.
    bool allow_secrets = false;
    // Shrink each image's root filesystem to its minimum plus shrink_margin_bytes and
    // cut the partition and the file after it; the image grows back to the whole card
    // at first boot (Raspbian's init_resize.sh where the image has it, otherwise a
    // first-boot service using the image's sfdisk and resize2fs).
    bool shrink = false;
    std::uint64_t shrink_margin_bytes = 256ULL << 20;
    // Prefix of each archive's URL in os_list.json ("https://example.org/class1/");
    // empty: the bare file name, for a list served from the archives' directory.
    std::string url_base;
    std::string description; // os_list description; a default names the image
    std::string icon;        // os_list icon URL, left out when empty
    // Seconds since the epoch for release_date and the dates inside archives; default:
    // $SOURCE_DATE_EPOCH, else now.
    std::optional<std::int64_t> date;
    unsigned threads = 0; // xz threads; 0 = one per core
    // Compression level, 0 (fastest) to 9 (smallest); empty: the format's default (6).
    std::optional<unsigned> level;
    StatusCallback status;
};

struct PublishedImage {
    std::string name; // "master", "cluster01-worker001"
    std::filesystem::path source;
    std::filesystem::path archive;
    std::filesystem::path bmap;
    std::uint64_t image_size = 0;   // extract_size
    std::string image_sha256;       // extract_sha256
    std::uint64_t mapped_bytes = 0; // blocks holding data after discarding free space
    std::uint64_t archive_size = 0;
    std::string archive_sha256;
    double compress_seconds = 0; // writing the archive alone, for benchmarks
    bool cluster_node = false;   // from a cluster output (its directory has manifest.json)
    // With shrink: how the image grows at first boot ("init_resize.sh" or
    // "pimint-grow-root.service"); empty otherwise.
    std::string first_boot_growth;
};

struct PublishResult {
    std::vector<PublishedImage> images;
    std::filesystem::path os_list;
    std::filesystem::path sha256sums;
    double seconds = 0;
};

// Throws Error: usage (no images), image (not a Pi image), secret (a finding, unless
// allow_secrets), io, appliance. Outputs appear only when complete.
PublishResult publish(const PublishOptions& options);

} // namespace pimint
