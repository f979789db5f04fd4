// Whole-tree archive operations with libarchive: unpacking source tarballs and image
// trees on the host, packing build results for the cache, and re-owning an archive's
// entries for installation into an image.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace pimint {

// Unpacks any archive libarchive reads (tar, tar.gz, tar.xz, ...) under `dest`,
// refusing entries that would land outside it.
void extract_archive(const std::filesystem::path& archive, const std::filesystem::path& dest);

// Packs the `subtrees` of `root` (each a relative path; names in the archive relative to
// `root`, symlinks kept) into a gzip tar.
void pack_tree(const std::filesystem::path& root,
               const std::vector<std::filesystem::path>& subtrees,
               const std::filesystem::path& archive);

// Reads every entry of `archive` to the end; throws Error when it is damaged.
void verify_archive(const std::filesystem::path& archive);

// Writes `to`, a plain tar with the entries of `from` owned by uid:gid; entries newer than
// `newest_mtime` (SOURCE_DATE_EPOCH), when given, are dated at it.
void copy_archive_with_owner(const std::filesystem::path& from, const std::filesystem::path& to,
                             std::uint32_t uid, std::uint32_t gid,
                             std::optional<std::int64_t> newest_mtime = std::nullopt);

// The path names of the entries of `archive`, as stored ("./usr/bin", "etc/hosts").
std::vector<std::string> archive_entry_names(const std::filesystem::path& archive);

} // namespace pimint
