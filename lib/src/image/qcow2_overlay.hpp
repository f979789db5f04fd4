// Node overlays: a qcow2 file whose unwritten clusters read from a raw backing file (the
// cluster's stage). qcow2 because qemu and libguestfs write it directly as a drive, so a
// node costs only the clusters its own steps change, and every qemu-based tool (qemu-img,
// qemu-system, guestfish) reads it; its backing file is named relative to the overlay, so
// a cluster directory can be moved or copied whole.
#pragma once

#include <cstdint>
#include <filesystem>

namespace pimint {

// Creates `overlay` (mode 0600, replacing any file there), a qcow2 disk backed by the raw
// image `backing` in the same directory, which it names by file name only; its size is
// `backing`'s, `size`. Throws Error(appliance) naming `name` when it cannot.
void create_qcow2_overlay(const std::filesystem::path& overlay,
                          const std::filesystem::path& backing, std::uint64_t size,
                          const std::filesystem::path& name);

} // namespace pimint
