// [[files]]: a file placed in the image, from inline content (placeholders expanded) or
// from a file next to the recipe, with a mode and an owner resolved in the image.
#include "pimint/core/error.hpp"
#include "recipe/steps/builtin_steps.hpp"
#include "recipe/steps/support.hpp"

#include <fmt/format.h>
#include <fstream>
#include <sstream>

namespace pimint::steps {
namespace {

class FilesStep final : public Step {
public:
    explicit FilesStep(StepTable& t) {
        auto path = t.string("path");
        if (!path) {
            t.fail("", "give the path inside the image: path = \"/etc/motd\"");
        }
        path_ = std::move(*path);
        if (!path_.has_placeholders()) {
            try {
                check_image_path(path_.text());
            } catch (const Error& e) {
                t.fail("path", e.message());
            }
        }
        t.require_one_of("content", "source");
        if (auto content = t.string("content")) {
            content_ = std::move(*content);
        } else {
            source_ = resolve_source(t, t.string("source")->text());
            source_size_ = std::filesystem::file_size(*source_);
        }
        mode_ = t.mode("mode").value_or(0644);
        owner_ = t.string("owner").value_or(Template("root:root", t.location("owner"))).text();
        where_ = t.location("path");
    }

    std::string_view name() const override { return "files"; }

    std::vector<std::string> touches(const NodeContext& node, const std::string&) const override {
        return {path_.expand(node)};
    }

    std::uint64_t space_needed() const override {
        return (source_ ? source_size_ : content_.text().size()) + 4096;
    }

    std::vector<std::filesystem::path> host_inputs() const override {
        return source_ ? std::vector{*source_} : std::vector<std::filesystem::path>{};
    }

    void apply(StepContext& ctx) const override {
        const std::string path = path_.expand(ctx.node);
        try {
            check_image_path(path);
        } catch (const Error& e) {
            throw Error(ErrorCategory::recipe, where_.str(), "files.path: " + e.message());
        }
        const auto [uid, gid] = resolve_owner(ctx.fs, owner_);
        const auto parent = std::filesystem::path(path).parent_path().string();
        ctx.fs.mkdir_p(parent);
        ctx.fs.write(path, source_ ? read_source() : content_.expand(ctx.node));
        ctx.fs.chown(path, uid, gid); // first: chown clears setuid/setgid bits
        ctx.fs.chmod(path, mode_);
    }

private:
    // The source file, which must stay inside the recipe's directory.
    static std::filesystem::path resolve_source(StepTable& t, const std::string& name) {
        const auto recipe_dir = std::filesystem::path(t.location("source").file).parent_path();
        std::error_code ec;
        const auto resolved = std::filesystem::weakly_canonical(recipe_dir / name, ec);
        const auto base = std::filesystem::weakly_canonical(recipe_dir, ec);
        const auto rel = resolved.lexically_relative(base);
        if (ec || rel.empty() || *rel.begin() == "..") {
            t.fail(
                "source",
                fmt::format(
                    "'{}' is outside the recipe's directory {}; copy the file next to the recipe",
                    name, base.string()));
        }
        if (!std::filesystem::is_regular_file(resolved, ec)) {
            t.fail("source",
                   fmt::format("cannot read {}; check that the file exists", resolved.string()));
        }
        return resolved;
    }

    std::string read_source() const {
        std::ifstream in(*source_, std::ios::binary);
        std::ostringstream content;
        content << in.rdbuf();
        if (!in) {
            throw Error(ErrorCategory::io, source_->string(),
                        "cannot read the file named by files.source");
        }
        return content.str();
    }

    Template path_;
    Template content_;
    std::optional<std::filesystem::path> source_;
    std::uint64_t source_size_ = 0;
    std::uint32_t mode_ = 0644;
    std::string owner_;
    SourceLocation where_;
};

} // namespace

void register_files() {
    register_step(
        "files", [](StepTable& t) { return std::make_unique<FilesStep>(t); }, true);
}

} // namespace pimint::steps
