#include "pimint/image/image_fs.hpp"

#include "pimint/core/error.hpp"

namespace pimint {

std::optional<std::string> ImageFs::read_if_exists(const std::string& path) {
    if (!exists(path)) {
        return std::nullopt;
    }
    return read(path);
}

void check_image_path(const std::string& path) {
    if (path.empty() || path.front() != '/') {
        throw Error(ErrorCategory::recipe, path,
                    "paths inside the image must be absolute (start with '/')");
    }
    if (path.find('\0') != std::string::npos) {
        throw Error(ErrorCategory::recipe, path, "path contains a NUL byte");
    }
    for (const auto& part : std::filesystem::path(path)) {
        if (part == "..") {
            throw Error(ErrorCategory::recipe, path,
                        "'..' is not allowed in paths inside the image; write the path "
                        "without it");
        }
    }
}

} // namespace pimint
