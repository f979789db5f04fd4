// Small whole files as text: the build's generated sources, site files and checksums.
#pragma once

#include <filesystem>
#include <string>

namespace pimint {

// The whole content of `path`; empty when it cannot be read.
std::string read_text(const std::filesystem::path& path);
// Replaces `path`'s content (not atomically: for files of a work directory). Throws
// Error(io) naming it when it cannot be written.
void write_text(const std::filesystem::path& path, const std::string& content);

} // namespace pimint
