// Which packages to add to an image, found by the host's own apt run as the calling user
// against a private copy of the image's state: its dpkg status, its apt sources and its
// keyrings, with the image's architecture. apt resolves the dependencies, checks every
// download against the signed repository metadata and keeps the package lists and the
// .deb files in pimint's cache, so a second run needs no network.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace pimint {

struct AptRequest {
    std::string architecture;                // the image's: "armhf" or "arm64"
    std::string status;                      // the image's /var/lib/dpkg/status
    std::filesystem::path image_apt;         // a host copy of the image's /etc/apt
    std::filesystem::path image_keyrings;    // of its /usr/share/keyrings (may be absent)
    std::vector<std::string> sources;        // one-line sources replacing the image's
    std::vector<std::string> install;        // package names
    std::vector<std::filesystem::path> debs; // local package files
    std::string where;                       // the recipe location, for errors
};

struct ResolvedPackage {
    std::string name;
    std::string version;
    std::string architecture;
    std::filesystem::path deb; // verified by apt (or given by the recipe)
    bool automatic = false;    // a dependency only, not asked for
};

// The packages to unpack, dependencies before what needs them. Throws Error(recipe) at
// `where` for a package that does not exist or cannot be installed, Error(image) when
// the lists or packages cannot be downloaded and are not cached, or when a dependency
// needs a newer version of a package the image has.
std::vector<ResolvedPackage> resolve_packages(const AptRequest& request,
                                              const std::function<void(std::string_view)>& say);

// One "Inst" line of `apt-get -s install`: what would be installed; installed_version
// is set when it would replace (upgrade) a version the image has.
struct AptAction {
    std::string name;
    std::string version;
    std::string architecture;
    std::string installed_version;
};
std::vector<AptAction> parse_apt_simulation(std::string_view output);

// The first problem apt reports in its output, in one line: "Unable to locate package
// foo", or for unmet dependencies "foo : Depends: bar but it is not installable". Empty
// when there is none.
std::string apt_problem(std::string_view output);

// The sources text with every absolute keyring path (signed-by=, Signed-By:) moved under
// `root`, where the copies of the image's keyrings are.
std::string sources_under_root(std::string_view sources, const std::string& root);

} // namespace pimint
