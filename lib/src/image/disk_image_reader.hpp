// A disk image's content as a guest sees it, read on the host: a raw image, or a qcow2
// overlay whose clusters not written fall through to its raw backing file (the stage of
// an overlay cluster). Hashing a node's whole image, writing it to a card and
// materializing it as a raw file all read through this, without an appliance.
#pragma once

#include "core/file_handle.hpp"
#include "pimint/core/files.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace pimint {

class DiskImageReader {
public:
    // Opens `path` as qcow2 when it starts with the qcow2 magic, otherwise as raw. Throws
    // Error(io) naming the file when it cannot be read, and Error(usage) for a qcow2
    // feature it does not read (compressed or encrypted clusters, an external data
    // file, a backing file that is not raw). A qcow2 file's `backing`, when given, is read
    // instead of the file its header names: pimint's own raw stage, for an overlay made
    // while the stage was still being written (create_qcow2_overlay_on_unfinished).
    static std::unique_ptr<DiskImageReader> open(const std::filesystem::path& path,
                                                 const std::filesystem::path& backing = {});

    virtual ~DiskImageReader() = default;

    // The disk's size in bytes.
    virtual std::uint64_t size() const = 0;
    // The ranges that may hold data, in order; everything else reads as zeros.
    virtual std::vector<Extent> data_ranges() const = 0;
    // Fills `out` with the disk's bytes from `offset` on (within size()).
    virtual void read(std::uint64_t offset, std::span<char> out) const = 0;
    // The files the content comes from: the image, then its backing file if any.
    virtual std::vector<std::filesystem::path> files() const = 0;
    // Where each cluster's data comes from, as a hash of a qcow2's cluster tables (empty
    // for a raw image). Once nothing writes the data any more, a reader opened later
    // with the same map reads the same bytes: tables that were still in qemu's cache
    // when the first read show as another map.
    virtual std::string cluster_map() const = 0;
};

// Whether `path` starts with the qcow2 magic.
bool is_qcow2(const std::filesystem::path& path);

// Throws Error(image) naming `path` when it is a qcow2 file: a base image is copied and
// edited as raw bytes.
void require_raw_image(const std::filesystem::path& path);

// SHA-256 of the whole disk `reader` reads, holes as zeros: for a raw image, what
// sha256_file gives.
std::string sha256_disk(const DiskImageReader& reader);

// Writes the disk `reader` reads to `to` (created with mode 0600, or truncated) as a raw
// sparse file: its data ranges written, the rest left as holes.
void write_raw_image(const DiskImageReader& reader, const std::filesystem::path& to);

} // namespace pimint
