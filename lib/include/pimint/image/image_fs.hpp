// The narrow set of file operations steps use on a mounted image. Paths are absolute
// paths inside the image; a path with a ".." component is refused, so nothing a recipe
// names can reach outside the image tree.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace pimint {

struct FileStat {
    enum class Type { regular, directory, symlink, other };
    Type type = Type::other;
    std::uint32_t mode = 0; // permission bits only (e.g. 0644)
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::uint64_t size = 0;
};

struct SpaceInfo {
    std::uint64_t total_bytes = 0;
    std::uint64_t free_bytes = 0; // available to unprivileged users, as df shows
};

class ImageFs {
public:
    virtual ~ImageFs() = default;

    virtual std::string read(const std::string& path) = 0;
    // Creates or replaces the file (an existing file keeps its mode and owner).
    virtual void write(const std::string& path, const std::string& content) = 0;
    virtual void append(const std::string& path, const std::string& content) = 0;
    virtual void mkdir_p(const std::string& path) = 0;
    virtual void chmod(const std::string& path, std::uint32_t mode) = 0;
    virtual void chown(const std::string& path, std::uint32_t uid, std::uint32_t gid) = 0;
    // Creates or replaces the symlink `link` pointing to `target`.
    virtual void symlink(const std::string& target, const std::string& link) = 0;
    virtual std::string readlink(const std::string& path) = 0;
    virtual void remove(const std::string& path) = 0;
    // Unpacks a host tar archive into the directory `dir` of the image.
    virtual void tar_in(const std::filesystem::path& tarball, const std::string& dir) = 0;
    // Packs the directory `dir` of the image into a host tar archive (owners and modes
    // kept, symlinks as symlinks).
    virtual void tar_out(const std::string& dir, const std::filesystem::path& tarball) = 0;
    // True when the path exists, following symlinks (as `test -e`).
    virtual bool exists(const std::string& path) = 0;
    // lstat: nullopt when the path does not exist.
    virtual std::optional<FileStat> stat(const std::string& path) = 0;
    virtual std::vector<std::string> list(const std::string& dir) = 0;
    virtual SpaceInfo space(const std::string& path) = 0;

    // Reads the file when it exists, nullopt otherwise.
    std::optional<std::string> read_if_exists(const std::string& path);
};

// Throws Error (category recipe) unless `path` is absolute and free of ".." components.
void check_image_path(const std::string& path);

} // namespace pimint
