// The repository file Raspberry Pi Imager reads for a custom list of images ("Use
// custom" → os_list JSON): one entry per published image with its download and the
// size and SHA-256 of what it extracts to, which Imager checks after writing.
#pragma once

#include "pimint/publish/publish.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace pimint {

// os_list.json's content. Cluster nodes get no init_format: Imager would then offer
// its customisation, which rewrites the host name and keys pimint gave the node.
std::string imager_os_list(const std::vector<PublishedImage>& images, const PublishOptions& options,
                           std::int64_t date);

} // namespace pimint
