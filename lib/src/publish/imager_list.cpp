#include "publish/imager_list.hpp"

#include <ctime>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace pimint {

std::string imager_os_list(const std::vector<PublishedImage>& images, const PublishOptions& options,
                           std::int64_t date) {
    const auto t = static_cast<std::time_t>(date);
    std::tm utc{};
    gmtime_r(&t, &utc);
    const std::string release_date =
        fmt::format("{:04}-{:02}-{:02}", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday);
    nlohmann::json list = nlohmann::json::array();
    for (const auto& img : images) {
        nlohmann::json entry = {
            {"name", img.name},
            {"description",
             !options.description.empty()
                 ? options.description
                 : (img.cluster_node
                        ? fmt::format("{}: a node of an MPI cluster made by pimint; "
                                      "write it to the card labelled {}",
                                      img.name, img.name)
                        : fmt::format("{}: Raspberry Pi OS made by pimint", img.name))},
            {"url", options.url_base + img.archive.filename().string()},
            {"extract_size", img.image_size},
            {"extract_sha256", img.image_sha256},
            {"image_download_size", img.archive_size},
            {"image_download_sha256", img.archive_sha256},
            {"release_date", release_date},
        };
        if (!options.icon.empty()) {
            entry["icon"] = options.icon;
        }
        if (!img.cluster_node) {
            entry["init_format"] = "systemd";
        }
        list.push_back(std::move(entry));
    }
    return nlohmann::json{{"os_list", list}}.dump(2) + "\n";
}

} // namespace pimint
