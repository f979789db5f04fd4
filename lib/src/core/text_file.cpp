#include "core/text_file.hpp"

#include "pimint/core/error.hpp"

#include <fstream>
#include <sstream>

namespace pimint {

std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void write_text(const std::filesystem::path& path, const std::string& content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out) {
        throw Error(ErrorCategory::io, path.string(), "cannot write");
    }
}

} // namespace pimint
