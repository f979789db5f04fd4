#include "packages/apt_resolver.hpp"

#include "core/cache_dir.hpp"
#include "core/remove_on_exit.hpp"
#include "core/subprocess.hpp"
#include "core/text.hpp"
#include "core/text_file.hpp"
#include "packages/deb_package.hpp"
#include "pimint/core/error.hpp"
#include "pimint/core/files.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <pwd.h>
#include <unistd.h>

namespace pimint {
namespace fs = std::filesystem;
namespace {

// Lists younger than this are used without asking the network again.
constexpr auto lists_fresh_for = std::chrono::hours(24);

// What of the image's /etc/apt decides where packages come from and whom to trust; its
// apt.conf(.d) is left out: it is the image's configuration, not the host's.
constexpr std::array<const char*, 7> apt_sources_parts = {
    "sources.list", "sources.list.d", "trusted.gpg", "trusted.gpg.d",
    "preferences",  "preferences.d",  "keyrings"};

std::vector<fs::path> sources_files(const fs::path& etc_apt) {
    std::vector<fs::path> files;
    if (fs::is_regular_file(etc_apt / "sources.list")) {
        files.push_back(etc_apt / "sources.list");
    }
    if (fs::is_directory(etc_apt / "sources.list.d")) {
        for (const auto& e : fs::directory_iterator(etc_apt / "sources.list.d")) {
            const auto ext = e.path().extension();
            if (e.is_regular_file() && (ext == ".list" || ext == ".sources")) {
                files.push_back(e.path());
            }
        }
    }
    std::sort(files.begin(), files.end());
    return files;
}

// The image's apt sources and keyrings under `run` (as /etc/apt and /usr/share/keyrings
// of a private root), absolute links and keyring paths pointing inside it. Returns a
// digest of what was copied, which names the package lists in the cache.
std::string make_private_root(const AptRequest& request, const fs::path& run) {
    const fs::path etc_apt = run / "etc/apt";
    fs::create_directories(etc_apt / "apt.conf.d");
    for (const char* part : apt_sources_parts) {
        if (fs::exists(fs::symlink_status(request.image_apt / part))) {
            fs::copy(request.image_apt / part, etc_apt / part,
                     fs::copy_options::recursive | fs::copy_options::copy_symlinks);
        }
    }
    if (!request.sources.empty()) {
        fs::remove_all(etc_apt / "sources.list.d");
        std::string list;
        for (const auto& line : request.sources) {
            list += line + "\n";
        }
        write_file_atomically(etc_apt / "sources.list", list);
    }
    if (fs::is_directory(request.image_keyrings)) {
        fs::create_directories(run / "usr/share");
        fs::copy(request.image_keyrings, run / "usr/share/keyrings",
                 fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    }
    Sha256 digest;
    digest.update(request.architecture.data(), request.architecture.size());
    std::vector<fs::path> copied;
    for (const auto& e : fs::recursive_directory_iterator(run)) {
        copied.push_back(e.path());
    }
    std::sort(copied.begin(), copied.end());
    for (const auto& path : copied) {
        const std::string name = path.lexically_relative(run).string();
        std::string content;
        if (fs::is_symlink(path)) {
            content = "-> " + fs::read_symlink(path).string();
            // The image's absolute links (trusted.gpg.d to /usr/share/keyrings) must not
            // reach the host's own files.
            if (fs::read_symlink(path).is_absolute()) {
                const fs::path inside = run / fs::read_symlink(path).relative_path();
                fs::remove(path);
                fs::create_symlink(inside, path);
            }
        } else if (fs::is_regular_file(path)) {
            content = read_text(path);
        }
        digest.update(name.data(), name.size() + 1);
        digest.update(content.data(), content.size() + 1);
    }
    for (const auto& file : sources_files(etc_apt)) {
        write_file_atomically(file, sources_under_root(read_text(file), run.string()));
    }
    return digest.hex().substr(0, 16);
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::string current_user() {
    const passwd* pw = ::getpwuid(::geteuid());
    return pw != nullptr ? pw->pw_name : "root";
}

void write_apt_config(const fs::path& run, const fs::path& lists, const fs::path& debs,
                      const std::string& architecture) {
    std::string conf = fmt::format("Dir \"{0}/\";\n"
                                   "Dir::State \"{0}/var/lib/apt/\";\n"
                                   "Dir::State::Lists \"{1}/\";\n"
                                   "Dir::State::status \"{0}/var/lib/dpkg/status\";\n"
                                   "Dir::Cache \"{0}/var/cache/apt/\";\n"
                                   "Dir::Cache::Archives \"{2}/\";\n"
                                   "Dir::Log \"{0}/var/log/apt/\";\n"
                                   "APT::Architecture \"{3}\";\n"
                                   "APT::Architectures {{ \"{3}\"; }};\n"
                                   "APT::Install-Recommends \"false\";\n"
                                   "APT::Get::Assume-Yes \"true\";\n"
                                   "Acquire::Languages \"none\";\n"
                                   "Acquire::Retries \"1\";\n"
                                   "Acquire::http::Timeout \"30\";\n"
                                   // The state is private to this run and the cache is
                                   // locked by pimint itself.
                                   "Debug::NoLocking \"true\";\n",
                                   run.string(), lists.string(), debs.string(), architecture);
    // apt run as root hands downloads to its _apt user, which cannot enter a private
    // cache under root's home; as anyone else it downloads as that user.
    if (::geteuid() == 0) {
        conf += fmt::format("APT::Sandbox::User \"{}\";\n", current_user());
    }
    fs::create_directories(run / "var/lib/apt");
    fs::create_directories(run / "var/cache/apt");
    fs::create_directories(run / "var/log/apt");
    write_file_atomically(run / "apt.conf", conf);
}

bool has_lists(const fs::path& lists) {
    if (!fs::is_directory(lists)) {
        return false;
    }
    for (const auto& e : fs::directory_iterator(lists)) {
        if (e.path().filename().string().find("_Packages") != std::string::npos) {
            return true;
        }
    }
    return false;
}

bool lists_fresh(const fs::path& stamp) {
    std::error_code ec;
    const auto when = fs::last_write_time(stamp, ec);
    return !ec && fs::file_time_type::clock::now() - when < lists_fresh_for;
}

// apt's name for a downloaded package file: the epoch's colon is escaped.
std::string archive_file_name(const AptAction& a) {
    return fmt::format("{}_{}_{}.deb", a.name, text::replace_all(a.version, ":", "%3a"),
                       a.architecture);
}

class AptRun {
public:
    AptRun(const fs::path& run, const fs::path& log)
        : run_(run)
        , log_(log) {}

    // Runs apt-get with `args`; false (with the output in the log) when it fails.
    bool operator()(std::vector<std::string> args) const {
        args.insert(args.begin(), "apt-get");
        Command c{args, run_, {{"APT_CONFIG", (run_ / "apt.conf").string()}, {"LC_ALL", "C"}}};
        try {
            run_logged(c, log_);
            return true;
        } catch (const Error& e) {
            if (e.category() != ErrorCategory::build) {
                throw;
            }
            return false;
        }
    }
    // The output of the last command.
    std::string last_output() const {
        const std::string log = read_text(log_);
        const auto start = log.rfind("\n$ ");
        return start == std::string::npos ? log : log.substr(start);
    }

private:
    fs::path run_;
    fs::path log_;
};

[[noreturn]] void cannot_download(const std::string& what, const std::string& problem,
                                  const fs::path& cache) {
    throw Error(ErrorCategory::image, "the image's apt sources",
                fmt::format("cannot download {} ({}) and pimint's cache has none; connect this "
                            "machine to the network once (pimint then keeps them in {})",
                            what, problem.empty() ? "no network?" : problem, cache.string()));
}

} // namespace

std::vector<AptAction> parse_apt_simulation(std::string_view output) {
    std::vector<AptAction> actions;
    for (auto line : text::split_lines(output)) {
        if (!line.starts_with("Inst ")) {
            continue;
        }
        line.remove_prefix(5);
        AptAction a;
        const auto space = line.find(' ');
        a.name = std::string(line.substr(0, space));
        std::string_view rest = space == std::string_view::npos ? "" : line.substr(space + 1);
        if (rest.starts_with('[')) {
            const auto close = rest.find(']');
            a.installed_version = std::string(rest.substr(1, close - 1));
            rest = close == std::string_view::npos ? "" : text::trim(rest.substr(close + 1));
        }
        if (rest.starts_with('(')) {
            const auto close = rest.rfind(')');
            const std::string_view inside = rest.substr(1, close - 1);
            a.version = std::string(inside.substr(0, inside.find(' ')));
            const auto open_arch = inside.rfind('[');
            const auto close_arch = inside.rfind(']');
            if (open_arch != std::string_view::npos && close_arch > open_arch) {
                a.architecture =
                    std::string(inside.substr(open_arch + 1, close_arch - open_arch - 1));
            }
        }
        actions.push_back(std::move(a));
    }
    return actions;
}

std::string apt_problem(std::string_view output) {
    std::string first_error;
    for (auto line : text::split_lines(output)) {
        const auto trimmed = text::trim(line);
        // Unmet dependencies: " foo : Depends: bar but it is not installable".
        if (line.starts_with(' ') && trimmed.find(" : ") != std::string_view::npos &&
            (trimmed.find("Depends:") != std::string_view::npos ||
             trimmed.find("Conflicts:") != std::string_view::npos ||
             trimmed.find("Breaks:") != std::string_view::npos)) {
            return std::string(trimmed);
        }
        if (first_error.empty() && line.starts_with("E: ")) {
            first_error = std::string(text::trim(line.substr(3)));
        }
    }
    return first_error;
}

std::string sources_under_root(std::string_view sources, const std::string& root) {
    std::string out;
    for (auto line : text::split_lines(sources)) {
        std::string l(line);
        // deb822: "Signed-By: /usr/share/keyrings/x.pgp" (a key block instead is kept).
        const auto colon = l.find(':');
        if (colon != std::string::npos && lower(l.substr(0, colon)) == "signed-by") {
            std::string value(text::trim(std::string_view(l).substr(colon + 1)));
            if (value.starts_with('/')) {
                std::string moved;
                for (auto word : text::split_ws(value)) {
                    moved += (moved.empty() ? "" : " ") +
                             (word.starts_with('/') ? root + std::string(word) : std::string(word));
                }
                l = l.substr(0, colon + 1) + " " + moved;
            }
        }
        // One-line: "deb [arch=armhf signed-by=/a.gpg,/b.gpg] http://… suite main".
        for (std::size_t at = l.find("signed-by="); at != std::string::npos;
             at = l.find("signed-by=", at + 1)) {
            std::size_t p = at + 10;
            while (p < l.size() && l[p] != ' ' && l[p] != ']') {
                if (l[p] == '/' && (l[p - 1] == '=' || l[p - 1] == ',')) {
                    l.insert(p, root);
                    p += root.size();
                }
                ++p;
            }
        }
        out += l + "\n";
    }
    return out;
}

std::vector<ResolvedPackage> resolve_packages(const AptRequest& request,
                                              const std::function<void(std::string_view)>& say) {
    const fs::path cache = cache_dir() / "apt";
    const PrivateTempDir run_dir("apt");
    const fs::path& run = run_dir.path();
    const std::string key = make_private_root(request, run);
    // The packages are kept per key too: the key's lock is the only lock apt's files
    // have here (apt's own locking is off), and runs with other sources may download
    // the same file at the same time.
    const fs::path lists = cache / "lists" / key;
    const fs::path debs = cache / "debs" / key;
    fs::create_directories(lists / "partial");
    fs::create_directories(debs / "partial");
    const FdHandle lock = lock_cache(cache / (key + ".lock"),
                                     "packages: another pimint is using the same package lists; "
                                     "waiting for it",
                                     say);
    fs::create_directories(run / "var/lib/dpkg");
    write_file_atomically(run / "var/lib/dpkg/status", request.status);
    write_apt_config(run, lists, debs, request.architecture);
    const fs::path log = cache / (key + ".log");
    fs::remove(log);
    const AptRun apt(run, log);

    const fs::path stamp = lists / ".pimint-updated";
    bool updated = false;
    auto update = [&] {
        if (say) {
            say("packages: updating the package lists of the image's apt sources");
        }
        if (apt({"update", "--error-on=any"})) {
            std::ofstream(stamp).put('\n');
            updated = true;
            return;
        }
        const std::string problem = apt_problem(apt.last_output());
        if (!has_lists(lists)) {
            cannot_download("the package lists", problem, cache);
        }
        if (say) {
            say(fmt::format("packages: cannot update the package lists ({}); using the cached "
                            "ones",
                            problem));
        }
    };
    if (!lists_fresh(stamp) || !has_lists(lists)) {
        update();
    }

    std::vector<std::string> args = {"install"};
    args.insert(args.end(), request.install.begin(), request.install.end());
    std::map<std::string, fs::path> local;
    for (const auto& deb : request.debs) {
        args.push_back(fs::absolute(deb).string());
        local[read_deb(deb).name()] = fs::absolute(deb);
    }
    std::vector<std::string> simulate = args;
    simulate.insert(simulate.begin(), "--simulate");
    if (!apt(simulate)) {
        const std::string problem = apt_problem(apt.last_output());
        throw Error(ErrorCategory::recipe, request.where,
                    fmt::format("[packages] cannot be installed from the image's apt sources "
                                "({}): {}; check the package names, or add the archive that has "
                                "them with sources = [\"deb URI SUITE COMPONENT\"]",
                                request.architecture, problem));
    }
    const auto actions = parse_apt_simulation(apt.last_output());
    for (const auto& a : actions) {
        if (!a.installed_version.empty()) {
            throw Error(ErrorCategory::image, request.where,
                        fmt::format("[packages] needs {} {}, but the image has {}: pimint adds "
                                    "missing packages and upgrades none; use an up-to-date "
                                    "image, or sources of the image's own release",
                                    a.name, a.version, a.installed_version));
        }
    }
    if (actions.empty()) {
        return {};
    }
    if (say) {
        say(fmt::format("packages: {} to add; downloading what the cache lacks", actions.size()));
    }
    std::vector<std::string> download = args;
    download.insert(download.begin(), "--download-only");
    if (!apt(download)) {
        // Lists a day old may name files the archive has since replaced.
        if (!updated) {
            update();
        }
        if (!updated || !apt(download)) {
            cannot_download("the packages", apt_problem(apt.last_output()), cache);
        }
    }
    std::vector<ResolvedPackage> resolved;
    for (const auto& a : actions) {
        ResolvedPackage p{a.name, a.version, a.architecture, {}, false};
        const auto given = local.find(a.name);
        p.deb = given != local.end() ? given->second : debs / archive_file_name(a);
        p.automatic = given == local.end() &&
                      std::find(request.install.begin(), request.install.end(), a.name) ==
                          request.install.end();
        if (!fs::is_regular_file(p.deb)) {
            throw Error(ErrorCategory::internal, p.deb.string(),
                        "apt downloaded the package under another name than expected");
        }
        resolved.push_back(std::move(p));
    }
    return resolved;
}

} // namespace pimint
