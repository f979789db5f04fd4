// Which images a directory pimint made holds, in hand-out order, from its manifests:
// the SHA-256 each card must read back as, and what to write on its label.
#include "image/disk_image_reader.hpp"
#include "pimint/cards/burn.hpp"
#include "pimint/core/error.hpp"

#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>

namespace pimint {
namespace {

BurnSource source_of(const std::filesystem::path& dir, const nlohmann::json& node,
                     const std::string& cluster) {
    BurnSource s;
    s.image = dir / node.at("image").get<std::string>();
    s.hostname = node.at("hostname").get<std::string>();
    s.sha256 = node.at("sha256").get<std::string>();
    const std::string address = node.at("address").get<std::string>();
    s.label = fmt::format("{}{}{} {}", cluster, cluster.empty() ? "" : " ", s.hostname, address);
    if (!std::filesystem::is_regular_file(s.image)) {
        throw Error(ErrorCategory::io, s.image.string(),
                    "the manifest lists this image but it cannot be read; make the directory "
                    "again with the same command");
    }
    s.size = DiskImageReader::open(s.image)->size(); // an overlay's is its full image's
    return s;
}

} // namespace

std::vector<BurnSource> burn_sources(const std::filesystem::path& dir) {
    const auto manifest_file = dir / "manifest.json";
    if (!std::filesystem::is_regular_file(manifest_file)) {
        throw Error(ErrorCategory::usage, dir.string(),
                    "holds no manifest.json; give a directory made by pimint cluster or pimint "
                    "classroom, or an image file");
    }
    std::vector<BurnSource> out;
    try {
        std::ifstream in(manifest_file); // a parse error is caught below like a missing key
        const auto manifest = nlohmann::json::parse(in);
        if (manifest.contains("clusters")) { // a classroom's summary
            for (const auto& c : manifest.at("clusters")) {
                for (const auto& n : c.at("nodes")) {
                    out.push_back(source_of(dir, n, c.at("name").get<std::string>()));
                }
            }
        } else {
            if (manifest.value("complete", false) != true) {
                throw Error(ErrorCategory::usage, manifest_file.string(),
                            "the cluster is not finished; run the same pimint cluster command "
                            "again to finish it first");
            }
            for (const auto& n : manifest.at("nodes")) {
                out.push_back(source_of(dir, n, ""));
            }
        }
    } catch (const nlohmann::json::exception& e) {
        throw Error(
            ErrorCategory::usage, manifest_file.string(),
            fmt::format("not a manifest pimint wrote ({}); make the directory again", e.what()));
    }
    return out;
}

BurnSource burn_source(const std::filesystem::path& path, const std::string& node) {
    if (!std::filesystem::is_directory(path)) {
        if (!node.empty()) {
            throw Error(ErrorCategory::usage, path.string(),
                        fmt::format("is not a directory, so it has no node {}; give the "
                                    "directory pimint made, or the image alone",
                                    node));
        }
        BurnSource s;
        s.image = path;
        s.hostname = path.stem().string();
        s.label = s.hostname;
        if (!std::filesystem::is_regular_file(path)) {
            throw Error(ErrorCategory::io, path.string(), "cannot read this image file");
        }
        s.size = DiskImageReader::open(path)->size();
        return s;
    }
    if (node.empty()) {
        throw Error(ErrorCategory::usage, path.string(),
                    "is a directory; name the node to write (its host name), or use --station "
                    "to write them all");
    }
    std::string known;
    for (auto& s : burn_sources(path)) {
        if (s.hostname == node) {
            return s;
        }
        known += (known.empty() ? "" : ", ") + s.hostname;
    }
    throw Error(ErrorCategory::usage, path.string(),
                fmt::format("has no node {}; its nodes are {}", node, known));
}

} // namespace pimint
