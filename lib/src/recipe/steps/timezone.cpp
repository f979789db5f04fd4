// [timezone]: /etc/timezone and the /etc/localtime link, to a zone the image has.
#include "core/validate.hpp"
#include "pimint/core/error.hpp"
#include "recipe/steps/builtin_steps.hpp"
#include "recipe/steps/support.hpp"

#include <fmt/format.h>

namespace pimint::steps {
namespace {

class TimezoneStep final : public Step {
public:
    explicit TimezoneStep(StepTable& t)
        : where_(t.location("zone")) {
        const auto zone = t.string("zone");
        if (!zone) {
            t.fail("", "give the zone: zone = \"Europe/London\"");
        }
        zone_ = zone->text();
        check_value(validate::timezone_name(zone_), "timezone.zone", where_.str());
    }

    std::string_view name() const override { return "timezone"; }
    bool writes_own_files() const override { return true; }

    std::vector<std::string> touches(const NodeContext&, const std::string&) const override {
        return {"/etc/timezone", "/etc/localtime"};
    }

    void apply(StepContext& ctx) const override {
        const std::string target = "/usr/share/zoneinfo/" + zone_;
        const auto st = ctx.fs.stat(target);
        if (!st || st->type == FileStat::Type::directory) {
            throw Error(
                ErrorCategory::recipe, where_.str(),
                fmt::format(
                    "timezone.zone: unknown time zone '{}' (the image has no {}); use a name "
                    "such as Europe/London",
                    zone_, target));
        }
        ctx.fs.write("/etc/timezone", zone_ + "\n");
        ctx.fs.symlink(target, "/etc/localtime");
    }

private:
    SourceLocation where_;
    std::string zone_;
};

} // namespace

void register_timezone() {
    register_step("timezone", [](StepTable& t) { return std::make_unique<TimezoneStep>(t); });
}

} // namespace pimint::steps
