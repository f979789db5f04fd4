// [image]: grow = "+1G" enlarges the image file, its root partition and the ext4
// filesystem before any other step runs (apply() does the resizing; this step only
// carries the size). Stock images leave little free space on the root filesystem.
#include "core/validate.hpp"
#include "pimint/recipe/step.hpp"
#include "recipe/steps/builtin_steps.hpp"

#include <fmt/format.h>

namespace pimint::steps {
namespace {

class ImageStep final : public Step {
public:
    explicit ImageStep(StepTable& t) {
        if (auto grow = t.string("grow")) {
            const auto bytes = validate::parse_size(grow->text());
            if (!bytes || *bytes == 0 || *bytes > (1ULL << 40)) {
                t.fail("grow", fmt::format("'{}' is not a size; write it like \"+1G\" or \"512M\"",
                                           grow->text()));
            }
            // Whole MiB keep the partition aligned.
            grow_ = (*bytes + (1 << 20) - 1) & ~std::uint64_t((1 << 20) - 1);
        }
    }

    std::string_view name() const override { return "image"; }
    bool writes_own_files() const override { return true; }
    std::uint64_t grow_bytes() const override { return grow_; }
    std::uint64_t space_needed() const override { return 0; }

    std::vector<std::string> touches(const NodeContext&, const std::string&) const override {
        if (grow_ == 0) {
            return {};
        }
        return {
            fmt::format("the image file (+{} MiB), partition 2 and its filesystem", grow_ >> 20)};
    }

    void apply(StepContext&) const override {}

private:
    std::uint64_t grow_ = 0;
};

} // namespace

void register_image() {
    register_step("image", [](StepTable& t) { return std::make_unique<ImageStep>(t); });
}

} // namespace pimint::steps
