// [mpich]: MPICH cross-compiled on the host (cached) and installed into the image under
// the classic prefix, owned by the image's default user, with examples/cpi where the
// classic instructions run it from.
#include "core/archive_tree.hpp"
#include "core/remove_on_exit.hpp"
#include "mpich/mpich_build.hpp"
#include "pimint/core/error.hpp"
#include "recipe/steps/builtin_steps.hpp"
#include "recipe/steps/support.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <unistd.h>

namespace pimint::steps {
namespace {

bool is_absolute_image_dir(const std::string& path) {
    return path.size() > 1 && path.front() == '/' && path.find("..") == std::string::npos &&
           path.back() != '/';
}

class MpichStep final : public Step {
public:
    explicit MpichStep(StepTable& t) {
        const auto source = t.string("source");
        if (!source) {
            t.fail("", "give the MPICH source tarball: source = \"mpich_4.0.2.orig.tar.xz\" "
                       "(apt-get source "
                       "--download-only mpich fetches one)");
        }
        const std::string where = t.location("source").file;
        const std::filesystem::path base = where.starts_with("--set ")
                                               ? std::filesystem::current_path()
                                               : std::filesystem::path(where).parent_path();
        spec_.source = std::filesystem::absolute(base / source->text()).lexically_normal();
        for (auto [key, field] :
             {std::pair{"prefix", &spec_.prefix}, std::pair{"build_dir", &spec_.build_dir}}) {
            if (auto value = t.string(key)) {
                if (!is_absolute_image_dir(value->text())) {
                    t.fail(key, "expected an absolute directory in the image, such as "
                                "/home/pi/mpich2-install");
                }
                *field = value->text();
            }
        }
        if (auto device = t.string("device")) {
            spec_.device = device->text();
        }
        spec_.fortran = t.boolean("fortran").value_or(false);
        if (auto flags = t.strings("configure_flags")) {
            for (const auto& f : *flags) {
                add_flag(f.text());
            }
        }
        if (auto toolchain = t.string("toolchain")) {
            spec_.toolchain = toolchain->text();
        }
        if (auto cpu = t.string("cpu")) {
            spec_.cpu = cpu->text();
            if (spec_.cpu != "armv6" && spec_.cpu != "armv7" && spec_.cpu != "armv8") {
                t.fail("cpu", "expected armv6 (Pi 1, Zero), armv7 (Pi 2) or armv8 (Pi 3 and "
                              "later), or leave it out to compile for what the image's libc is "
                              "built for");
            }
            if (spec_.cpu == "armv6" && !t.string("toolchain")) {
                t.fail("cpu", "Debian's arm-linux-gnueabihf compilers emit ARMv7 code, which dies "
                              "with SIGILL on "
                              "an ARMv6 Pi (1, Zero); set mpich.toolchain to the prefix of a "
                              "toolchain that targets "
                              "ARMv6");
            }
        }
    }

    std::string_view name() const override { return "mpich"; }
    bool writes_own_files() const override { return true; }
    std::uint64_t space_needed() const override { return 64ULL << 20; }
    std::vector<std::filesystem::path> host_inputs() const override { return {spec_.source}; }

    std::vector<std::string> touches(const NodeContext&, const std::string&) const override {
        return {spec_.prefix + "/ (MPICH, cross-compiled on this machine or taken from the cache)",
                spec_.build_dir + "/examples/cpi"};
    }

    void apply(StepContext& ctx) const override {
        if (!note_.empty() && ctx.status) {
            ctx.status(note_);
        }
        const MpichArchive archive = mpich_archive(spec_, ctx.fs, ctx.status);
        if (ctx.status) {
            ctx.status(archive.from_cache ? "MPICH: from the cache" : "MPICH: built");
        }
        const Account owner = find_account(ctx.fs, "");
        const auto tar =
            archive.path.parent_path() / fmt::format(".install-{}-{}.tar", archive.key, ::getpid());
        const RemoveOnExit remove(tar);
        copy_archive_with_owner(archive.path, tar, owner.uid, owner.gid, ctx.source_date);
        ctx.fs.tar_in(tar, "/");
    }

private:
    // MPICH2 1.x spelled "no Fortran" as two flags; MPICH 3 and later use one.
    void add_flag(const std::string& flag) {
        if (flag == "--disable-fc" || flag == "--disable-f77") {
            note_ = "mpich: --disable-fc and --disable-f77 are MPICH2 1.x flags; using "
                    "--disable-fortran";
            if (spec_.fortran) {
                spec_.fortran = false;
            }
            return;
        }
        if (flag == "--disable-fortran") {
            spec_.fortran = false;
            return;
        }
        if (std::find(spec_.configure_flags.begin(), spec_.configure_flags.end(), flag) ==
            spec_.configure_flags.end()) {
            spec_.configure_flags.push_back(flag);
        }
    }

    MpichBuildSpec spec_;
    std::string note_;
};

} // namespace

void register_mpich() {
    register_step("mpich", [](StepTable& t) { return std::make_unique<MpichStep>(t); });
}

} // namespace pimint::steps
