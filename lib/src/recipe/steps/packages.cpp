// [packages]: Debian packages added offline, in Debian's own two stages (debootstrap
// --foreign, multistrap): on this machine the host's apt resolves and downloads them
// against the image's own state and pimint unpacks them through the appliance; on the Pi
// a first-boot job runs their preinst scripts and `dpkg --configure -a`. Nothing of the
// image runs here, so neither root nor emulation is needed.
#include "core/archive_tree.hpp"
#include "core/remove_on_exit.hpp"
#include "packages/apt_resolver.hpp"
#include "packages/package_unpack.hpp"
#include "pimint/core/error.hpp"
#include "recipe/steps/builtin_steps.hpp"
#include "recipe/steps/support.hpp"

#include <algorithm>
#include <ctime>
#include <fmt/format.h>
#include <glob.h>

namespace pimint::steps {
namespace {

constexpr const char* state_dir = "/var/lib/pimint/packages";
constexpr const char* unit_name = "pimint-packages.service";

// Runs at boot until it succeeds. Maintainer scripts may not start services from inside
// a boot job (a start would wait for this very boot), so policy-rc.d holds them back and
// systemd starts what they enabled once the job is done. ldconfig first: new libraries in
// the multiarch directories are found only through its cache.
constexpr const char* configure_script = R"sh(#!/bin/sh
# Written by pimint: configures the packages pimint unpacked into this image, as the
# second stage of debootstrap would: their preinst scripts, then dpkg --configure -a.
# Runs at every boot until it succeeds, then removes itself.
set -u
started=$(cut -d. -f1 /proc/uptime)
state=/var/lib/pimint/packages
export DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true LC_ALL=C
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
fail() {
    echo "pimint-packages: $1; it is tried again at the next boot (journalctl -u pimint-packages)" >&2
    exit 1
}
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && trap 'rm -f "$policy"' EXIT
fi
for pkg in $(cat "$state/preinst-pending"); do
    script=/var/lib/dpkg/info/$pkg.preinst
    if [ -x "$script" ]; then
        echo "pimint-packages: preinst of $pkg"
        DPKG_MAINTSCRIPT_PACKAGE=${pkg%%:*} DPKG_MAINTSCRIPT_NAME=preinst \
            DPKG_MAINTSCRIPT_ARCH=$(dpkg-query -W -f '${Architecture}' "$pkg") \
            DPKG_ADMINDIR=/var/lib/dpkg DPKG_ROOT= "$script" install ||
            fail "the preinst script of $pkg failed"
    fi
    grep -vxF "$pkg" "$state/preinst-pending" >"$state/preinst-pending.new" || true
    mv "$state/preinst-pending.new" "$state/preinst-pending"
done
ldconfig
echo "pimint-packages: dpkg --configure -a"
dpkg --configure -a --force-confdef --force-confold || fail "dpkg --configure -a failed"
audit=$(dpkg --audit)
[ -z "$audit" ] || fail "dpkg --audit still reports: $(echo "$audit" | tr '\n' ' ')"
rm -f /etc/systemd/system/multi-user.target.wants/pimint-packages.service \
    /etc/systemd/system/pimint-packages.service
rm -rf "$state"
systemctl daemon-reload
systemctl --no-block start "$(systemctl get-default)"
echo "pimint-packages: the packages are configured in $(($(cut -d. -f1 /proc/uptime) - started)) s"
)sh";

// Before logins and sshd accept users, after the root filesystem is writable.
constexpr const char* configure_unit = R"unit([Unit]
Description=Configure the packages pimint unpacked (preinst, dpkg --configure -a)
After=local-fs.target
Before=systemd-user-sessions.service ssh.service multi-user.target
ConditionPathExists=/var/lib/pimint/packages/configure

[Service]
Type=oneshot
ExecStart=/var/lib/pimint/packages/configure
TimeoutStartSec=infinity
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
)unit";

// apt's own syntax: a name, optionally =version, /release or :architecture.
bool plausible_package(const std::string& s) {
    return !s.empty() && std::isalnum(static_cast<unsigned char>(s.front())) &&
           std::all_of(s.begin(), s.end(), [](unsigned char c) {
               return std::isalnum(c) || std::string_view("+-.:=~/_").find(static_cast<char>(c)) !=
                                             std::string_view::npos;
           });
}

std::vector<std::filesystem::path> expand_glob(const std::filesystem::path& pattern) {
    glob_t g{};
    std::vector<std::filesystem::path> out;
    if (::glob(pattern.c_str(), 0, nullptr, &g) == 0) {
        for (std::size_t i = 0; i < g.gl_pathc; ++i) {
            out.emplace_back(g.gl_pathv[i]);
        }
    }
    ::globfree(&g);
    return out;
}

class PackagesStep final : public Step {
public:
    explicit PackagesStep(StepTable& t) {
        where_ = t.location("install").str();
        const std::string recipe_file = t.location("debs").file;
        const std::filesystem::path base = recipe_file.starts_with("--set ")
                                               ? std::filesystem::current_path()
                                               : std::filesystem::path(recipe_file).parent_path();
        for (const auto& name : t.strings("install").value_or(std::vector<Template>{})) {
            if (name.has_placeholders() || !plausible_package(name.text())) {
                t.fail("install", fmt::format("'{}' is not a package name; write names as apt "
                                              "takes them: install = [\"htop\", "
                                              "\"python3-mpi4py\"]",
                                              name.text()));
            }
            install_.push_back(name.text());
        }
        for (const auto& pattern : t.strings("debs").value_or(std::vector<Template>{})) {
            const auto matches = expand_glob(base / pattern.text());
            if (matches.empty()) {
                t.fail("debs", fmt::format("'{}' matches no file next to the recipe; give "
                                           "package files relative to it: debs = "
                                           "[\"extra/*.deb\"]",
                                           pattern.text()));
            }
            debs_.insert(debs_.end(), matches.begin(), matches.end());
        }
        for (const auto& line : t.strings("sources").value_or(std::vector<Template>{})) {
            if (!line.text().starts_with("deb ")) {
                t.fail("sources", fmt::format("'{}' is not an apt source; write one-line "
                                              "sources: \"deb http://deb.debian.org/debian "
                                              "trixie main\"",
                                              line.text()));
            }
            sources_.push_back(line.text());
        }
        if (install_.empty() && debs_.empty()) {
            t.fail("install", "name the packages to add: install = [\"htop\"], or package "
                              "files with debs = [\"extra/*.deb\"]");
        }
    }

    std::string_view name() const override { return "packages"; }
    bool writes_own_files() const override { return true; }
    std::uint64_t space_needed() const override { return 0; } // known once resolved
    std::vector<std::filesystem::path> host_inputs() const override { return debs_; }

    std::vector<std::string> touches(const NodeContext&, const std::string&) const override {
        return {"the packages' files (resolved by apt against the image's dpkg status)",
                "/var/lib/dpkg/status, /var/lib/dpkg/info/", "/var/lib/apt/extended_states",
                std::string(state_dir) + "/", std::string(unit_dir) + "/" + unit_name};
    }

    void apply(StepContext& ctx) const override {
        if (ctx.layout.architecture.empty()) {
            throw Error(ErrorCategory::image, "/usr/lib",
                        "cannot tell the image's architecture (it has no libc), so no package "
                        "can be chosen for it; use a Raspberry Pi OS image");
        }
        const PrivateTempDir scratch_dir("packages");
        const std::filesystem::path& scratch = scratch_dir.path();

        AptRequest request;
        request.architecture = ctx.layout.architecture;
        request.status = ctx.fs.read("/var/lib/dpkg/status");
        request.image_apt = copy_out(ctx.fs, "/etc/apt", scratch / "apt");
        request.image_keyrings = copy_out(ctx.fs, "/usr/share/keyrings", scratch / "keyrings");
        request.sources = sources_;
        request.install = install_;
        request.debs = debs_;
        request.where = where_;
        const auto resolved = resolve_packages(request, ctx.status);
        if (resolved.empty()) {
            if (ctx.status) {
                ctx.status("packages: all are in the image already");
            }
            return;
        }
        const std::int64_t mtime = ctx.source_date.value_or(std::time(nullptr));
        const auto unpacked = unpack_packages(ctx.fs, resolved, scratch, mtime);
        if (ctx.status) {
            ctx.status(fmt::format("packages: {} unpacked ({} files, {} MiB); configured at first "
                                   "boot",
                                   unpacked.database_names.size(), unpacked.files,
                                   unpacked.installed_bytes >> 20));
        }
        ctx.fs.mkdir_p(state_dir);
        ctx.fs.chmod(state_dir, 0700);
        std::string pending;
        for (const auto& name : unpacked.database_names) {
            pending += name + "\n";
        }
        const std::string pending_file = std::string(state_dir) + "/preinst-pending";
        ctx.fs.write(pending_file, ctx.fs.read_if_exists(pending_file).value_or("") + pending);
        const std::string script = std::string(state_dir) + "/configure";
        ctx.fs.write(script, configure_script);
        ctx.fs.chmod(script, 0700);
        install_enabled_unit(ctx.fs, unit_name, configure_unit);
    }

private:
    // A host copy of an image directory (empty when the image lacks it).
    static std::filesystem::path copy_out(ImageFs& fs, const std::string& dir,
                                          const std::filesystem::path& to) {
        std::filesystem::create_directories(to);
        if (fs.exists(dir)) {
            const auto tar = to.string() + ".tar";
            fs.tar_out(dir, tar);
            extract_archive(tar, to);
        }
        return to;
    }

    std::string where_;
    std::vector<std::string> install_;
    std::vector<std::filesystem::path> debs_;
    std::vector<std::string> sources_;
};

} // namespace

void register_packages() {
    register_step("packages", [](StepTable& t) { return std::make_unique<PackagesStep>(t); });
}

} // namespace pimint::steps
