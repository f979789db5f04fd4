// DIR/manifest.json and DIR/SHA256SUMS of a cluster output. The manifest is rewritten
// after every finished image, so it is also what a resumed run reads: an image whose
// entry has the same inputs, size and modification time is already done.
#pragma once

#include "pimint/cluster/cluster.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pimint {

struct ManifestEntry {
    NodeResult result;
    std::string inputs;        // hash of everything the image was built from
    std::int64_t mtime_ns = 0; // of the finished image (or overlay)
    // The overlay layout: the overlay's own size, and its stage's modification time when
    // the overlay was made on it (a stage made again leaves the overlay meaningless).
    std::uint64_t overlay_size = 0;
    std::int64_t backing_mtime_ns = 0;
};

// A stage file of the overlay layout, which every node overlay of its role reads through.
struct StageRecord {
    std::string file; // "stage.img", in the cluster directory
    std::string key;  // stage_key: what it was made from
    std::string sha256;
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;
};

struct ManifestHeader {
    std::string recipe;
    std::string recipe_fingerprint;
    std::vector<std::string> overrides; // as given; secrets are redacted when written
    std::string base;
    std::string base_sha256;
    const ClusterSpec* spec = nullptr;
    ImageLayout layout = ImageLayout::full;
    std::vector<StageRecord> stages; // the overlay layout's, in SHA256SUMS before the nodes
};

// The entries of DIR/manifest.json by image name; none when there is no manifest.
// Throws Error(io) naming the file when it exists but cannot be read.
std::map<std::string, ManifestEntry> read_cluster_manifest(const std::filesystem::path& dir);

// The layout and the stages recorded in DIR/manifest.json; none when there is no manifest.
std::optional<ImageLayout> recorded_layout(const std::filesystem::path& dir);
std::vector<StageRecord> recorded_stages(const std::filesystem::path& dir);

// "full" or "overlay".
const char* layout_name(ImageLayout layout);

// The worker count recorded in DIR/manifest.json (0 when there is none).
int recorded_workers(const std::filesystem::path& dir);

// Writes manifest.json (entries in the order given; `complete` once every planned image
// is done) and SHA256SUMS in the coreutils format, both atomically.
void write_cluster_manifest(const std::filesystem::path& dir, const ManifestHeader& header,
                            const std::vector<const ManifestEntry*>& entries, bool complete);

// The modification time of `file` in nanoseconds.
std::int64_t mtime_ns(const std::filesystem::path& file);

} // namespace pimint
