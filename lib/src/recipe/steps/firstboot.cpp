// [firstboot]: shell commands run once at the image's first boot, as root, by a systemd
// one-shot service that logs to the journal and then disables itself. For what cannot
// be done offline on a foreign-architecture image.
#include "recipe/steps/builtin_steps.hpp"
#include "recipe/steps/support.hpp"

namespace pimint::steps {
namespace {

class FirstbootStep final : public Step {
public:
    explicit FirstbootStep(StepTable& t) {
        auto commands = t.strings("commands");
        if (!commands || commands->empty()) {
            t.fail("commands", "give the commands to run: commands = [\"apt-get update\"]");
        }
        commands_ = std::move(*commands);
    }

    std::string_view name() const override { return "firstboot"; }
    bool writes_own_files() const override { return true; }

    std::vector<std::string> touches(const NodeContext&, const std::string&) const override {
        return {"/var/lib/pimint/pimint-firstboot.sh",
                "/etc/systemd/system/pimint-firstboot.service"};
    }

    void apply(StepContext& ctx) const override {
        std::string script;
        for (const auto& c : commands_) {
            script += c.expand(ctx.node) + "\n";
        }
        install_first_boot_service(ctx.fs, "pimint-firstboot",
                                   "First-boot commands from the pimint recipe", script);
    }

private:
    std::vector<Template> commands_;
};

} // namespace

void register_firstboot() {
    register_step("firstboot", [](StepTable& t) { return std::make_unique<FirstbootStep>(t); });
}

} // namespace pimint::steps
