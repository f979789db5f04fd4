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

// The same, on a `backing` file that another appliance is still writing, so that the
// overlay's appliance starts meanwhile: qemu locks an image it writes against readers
// that do not share writes, as a backing file's reader does. The overlay names its
// backing by absolute path through qemu's options string with locking off; nothing may
// read the overlay's backing clusters before the writer has finished, and
// name_qcow2_backing() must name the finished file once the overlay's appliance is done.
void create_qcow2_overlay_on_unfinished(const std::filesystem::path& overlay,
                                        const std::filesystem::path& backing, std::uint64_t size,
                                        const std::filesystem::path& name);

// Makes `overlay` name `backing`, a raw file in its directory, by file name as
// create_qcow2_overlay does; its clusters are left as they are (qemu-img rebase -u).
void name_qcow2_backing(const std::filesystem::path& overlay, const std::filesystem::path& backing,
                        const std::filesystem::path& name);

} // namespace pimint
