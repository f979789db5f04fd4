#include "cluster/cluster_manifest.hpp"

#include "pimint/core/error.hpp"
#include "pimint/core/files.hpp"
#include "pimint/core/version.hpp"

#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <sys/stat.h>

namespace pimint {
namespace {

std::filesystem::path manifest_file(const std::filesystem::path& dir) {
    return dir / "manifest.json";
}

// --set values as recorded in the manifest, with secrets replaced.
std::vector<std::string> redacted(const std::vector<std::string>& overrides) {
    std::vector<std::string> out;
    for (const auto& o : overrides) {
        const std::string key = o.substr(0, o.find('='));
        const bool secret = key.ends_with("password") || key.ends_with("password_hash") ||
                            key.ends_with("passphrase") || key.ends_with("psk");
        out.push_back(secret ? key + "=(not recorded)" : o);
    }
    return out;
}

std::optional<nlohmann::json> read_json(const std::filesystem::path& dir) {
    const auto file = manifest_file(dir);
    if (!std::filesystem::exists(file)) {
        return std::nullopt;
    }
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    try {
        return nlohmann::json::parse(text.str());
    } catch (const nlohmann::json::exception& e) {
        throw Error(ErrorCategory::io, file.string(),
                    fmt::format("not a readable manifest ({}); remove it to rebuild every image",
                                e.what()));
    }
}

// A manifest.json that parses but lacks what pimint writes.
[[noreturn]] void not_a_manifest(const std::filesystem::path& dir,
                                 const nlohmann::json::exception& e) {
    throw Error(ErrorCategory::io, manifest_file(dir).string(),
                fmt::format("not a pimint cluster manifest ({}); remove it to rebuild every image",
                            e.what()));
}

} // namespace

std::int64_t mtime_ns(const std::filesystem::path& file) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) {
        return -1;
    }
    return std::int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

std::map<std::string, ManifestEntry> read_cluster_manifest(const std::filesystem::path& dir) {
    std::map<std::string, ManifestEntry> entries;
    const auto json = read_json(dir);
    if (!json) {
        return entries;
    }
    try {
        for (const auto& n : json->at("nodes")) {
            ManifestEntry e;
            e.result.node.role = n.at("role").get<std::string>();
            e.result.node.index = n.at("index").get<int>();
            e.result.node.hostname = n.at("hostname").get<std::string>();
            e.result.node.address = n.at("address").get<std::string>();
            e.result.node.image_name = n.at("image").get<std::string>();
            e.result.image = dir / e.result.node.image_name;
            e.result.size = n.at("size").get<std::uint64_t>();
            e.result.sha256 = n.at("sha256").get<std::string>();
            e.result.host_key_fingerprints = n.at("host_keys").get<std::vector<std::string>>();
            e.result.reused = true;
            e.inputs = n.at("inputs").get<std::string>();
            e.mtime_ns = n.at("mtime_ns").get<std::int64_t>();
            e.result.overlay_sha256 = n.value("overlay_sha256", "");
            e.result.backing = n.value("backing", "");
            e.overlay_size = n.value("overlay_size", std::uint64_t{0});
            e.backing_mtime_ns = n.value("backing_mtime_ns", std::int64_t{0});
            entries[e.result.node.image_name] = std::move(e);
        }
    } catch (const nlohmann::json::exception& e) {
        not_a_manifest(dir, e);
    }
    return entries;
}

const char* layout_name(ImageLayout layout) {
    return layout == ImageLayout::overlay ? "overlay" : "full";
}

std::optional<ImageLayout> recorded_layout(const std::filesystem::path& dir) {
    const auto json = read_json(dir);
    if (!json) {
        return std::nullopt;
    }
    return json->value("layout", "full") == "overlay" ? ImageLayout::overlay : ImageLayout::full;
}

std::vector<StageRecord> recorded_stages(const std::filesystem::path& dir) {
    std::vector<StageRecord> stages;
    const auto json = read_json(dir);
    if (!json || !json->contains("stages")) {
        return stages;
    }
    try {
        for (const auto& s : json->at("stages")) {
            stages.push_back({s.at("file").get<std::string>(), s.at("key").get<std::string>(),
                              s.at("sha256").get<std::string>(), s.at("size").get<std::uint64_t>(),
                              s.at("mtime_ns").get<std::int64_t>()});
        }
    } catch (const nlohmann::json::exception& e) {
        not_a_manifest(dir, e);
    }
    return stages;
}

int recorded_workers(const std::filesystem::path& dir) {
    const auto json = read_json(dir);
    if (!json) {
        return 0;
    }
    return json->value("/cluster/workers"_json_pointer, 0);
}

void write_cluster_manifest(const std::filesystem::path& dir, const ManifestHeader& header,
                            const std::vector<const ManifestEntry*>& entries, bool complete) {
    nlohmann::json nodes = nlohmann::json::array();
    std::string node_sums;
    for (const auto* e : entries) {
        const NodeResult& n = e->result;
        nodes.push_back({{"role", n.node.role},
                         {"index", n.node.index},
                         {"hostname", n.node.hostname},
                         {"address", n.node.address},
                         {"image", n.node.image_name},
                         {"size", n.size},
                         {"sha256", n.sha256},
                         {"host_keys", n.host_key_fingerprints},
                         {"inputs", e->inputs},
                         {"mtime_ns", e->mtime_ns}});
        if (header.layout == ImageLayout::overlay) {
            nodes.back()["overlay_sha256"] = n.overlay_sha256;
            nodes.back()["overlay_size"] = e->overlay_size;
            nodes.back()["backing"] = n.backing;
            nodes.back()["backing_mtime_ns"] = e->backing_mtime_ns;
        }
        // The files as they are: with overlays, the stages' and the overlays' own hashes.
        node_sums += fmt::format(
            "{}  {}\n", header.layout == ImageLayout::overlay ? n.overlay_sha256 : n.sha256,
            n.node.image_name);
    }
    nlohmann::json stages = nlohmann::json::array();
    std::string sums;
    for (const auto& st : header.stages) {
        stages.push_back({{"file", st.file},
                          {"key", st.key},
                          {"sha256", st.sha256},
                          {"size", st.size},
                          {"mtime_ns", st.mtime_ns}});
        sums += fmt::format("{}  {}\n", st.sha256, st.file);
    }
    sums += node_sums;
    const ClusterSpec& spec = *header.spec;
    const nlohmann::json manifest = {
        {"pimint_version", std::string(version())},
        {"complete", complete},
        {"recipe", header.recipe},
        {"recipe_fingerprint", header.recipe_fingerprint},
        {"overrides", redacted(header.overrides)},
        {"base_image", header.base},
        {"base_sha256", header.base_sha256},
        {"cluster",
         {{"name", spec.name},
          {"master", spec.master},
          {"workers", spec.workers},
          {"subnet", spec.subnet},
          {"slots", spec.slots},
          {"key_type", spec.key_type},
          {"unique_disk_ids", spec.unique_disk_ids}}},
        {"layout", layout_name(header.layout)},
        {"stages", stages},
        {"nodes", nodes},
    };
    write_file_atomically(manifest_file(dir), manifest.dump(2) + "\n");
    write_file_atomically(dir / "SHA256SUMS", sums);
}

} // namespace pimint
