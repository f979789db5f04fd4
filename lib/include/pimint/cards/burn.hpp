// Writing images to cards: only the ranges of an image that hold data are written (its
// holes are free space, as bmaptool treats them), read back and checked against the
// SHA-256 its manifest records, synced, and only then reported done. A burn station
// writes the nodes of a cluster or classroom directory one after another onto several
// card readers at once, each taking the next node as soon as a card is in it, and
// records which node went on which card in DIR/burned.csv so that a stopped session
// resumes.
#pragma once

#include "pimint/image/appliance.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace pimint {

// One image to write: a node of a directory pimint made, or a bare image file.
struct BurnSource {
    std::filesystem::path image;
    std::string hostname; // the node's host name; the file's stem for a bare image
    std::string label;    // what to write on the card: "cluster01 worker 1 c01-worker001"
    std::string sha256;   // of the whole image, from the manifest; empty for a bare image
    std::uint64_t size = 0;
};

// The nodes of DIR in the order a class is handed out: a cluster directory (its
// manifest.json) or a classroom directory (class manifest: cluster by cluster).
// Throws Error(usage) when DIR holds neither, or its manifest is incomplete.
std::vector<BurnSource> burn_sources(const std::filesystem::path& dir);

// The node of DIR named `hostname`, or `path` itself when it is an image file (node
// empty). Throws Error(usage) naming the known nodes when there is no such node.
BurnSource burn_source(const std::filesystem::path& path, const std::string& node);

// What TARGET is and holds.
struct CardTarget {
    std::filesystem::path path;
    bool block_device = false;
    std::uint64_t size = 0; // bytes; 0 when a reader holds no card
    std::string model;      // "Generic SD/MMC" from sysfs; empty for files
};

// Looks at TARGET without writing. Throws Error(target), in one line naming it, when it
// is not a block device or a regular file (a missing file is created by the burn).
CardTarget probe_target(const std::filesystem::path& target);

// Throws Error(target), in one line naming TARGET and the reason, when TARGET is a
// mounted device or holds a mounted partition, is the disk holding /, or is a block
// device smaller than `image_size`.
void refuse_unsafe_target(const CardTarget& target, std::uint64_t image_size);

struct BurnProgress {
    std::uint64_t done = 0;  // bytes written, then read back
    std::uint64_t total = 0; // twice the mapped bytes: write and verify
    double seconds = 0;
    std::string phase; // "writing", "verifying", "syncing"
};
using BurnProgressCallback = std::function<void(const BurnProgress&)>;

struct BurnResult {
    std::uint64_t image_size = 0;
    std::uint64_t written = 0; // the mapped bytes
    std::string sha256;        // of the image as it was written, holes counted as zeros
    double write_seconds = 0;
    double verify_seconds = 0;
};

// Writes `source` to `target` (checked with refuse_unsafe_target first) and syncs; the
// image read for it must hash, with its holes as zeros, to source.sha256 (when set).
// Then reads each written range back past the page cache and compares it byte for byte
// with the same range of the image. A regular file target
// appears under its name only when it verified. Throws Error(target) on a mismatch,
// Error(io) when the image no longer matches its manifest, Error(interrupted).
BurnResult burn_card(const BurnSource& source, const CardTarget& target,
                     const BurnProgressCallback& progress = {});

struct StationOptions {
    std::filesystem::path dir; // a cluster or classroom directory
    std::vector<std::filesystem::path> readers;
    // How often a reader is looked at for a card being put in or taken out.
    double poll_seconds = 0.5;
    StatusCallback status; // "c01-worker001 on /dev/sdb: done, take the card out"
    // Per reader: where its current card is.
    std::function<void(const std::filesystem::path& reader, const BurnProgress&)> progress;
};

struct StationCard {
    BurnSource node;
    std::filesystem::path reader;
    std::string model;
    BurnResult result;
};

struct StationResult {
    std::vector<StationCard> burned;  // in this session, in the order they finished
    std::vector<std::string> skipped; // host names already in DIR/burned.csv
};

// Writes every node of dir not yet in dir/burned.csv, in order, each onto the next
// reader that holds a card (a block device whose size is no longer 0, or a regular
// file that exists), all readers at once; after a card is done its reader must be
// emptied (size 0, or the file moved away) before it takes the next. Appends
// "hostname,label,reader,model,sha256,finished" to burned.csv as each card verifies.
// Returns when every node is on a card. Throws Error(interrupted) on a signal (the
// cards finished so far stay recorded) and the first burn error of any reader.
StationResult run_burn_station(const StationOptions& options);

} // namespace pimint
