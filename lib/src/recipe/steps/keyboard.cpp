// [keyboard]: the console and X keyboard (/etc/default/keyboard), as raspi-config sets it.
#include "core/validate.hpp"
#include "recipe/steps/builtin_steps.hpp"
#include "recipe/steps/support.hpp"

namespace pimint::steps {
namespace {

class KeyboardStep final : public Step {
public:
    explicit KeyboardStep(StepTable& t) {
        for (const auto& [key, variable] : fields) {
            if (auto value = t.string(key)) {
                check_value(validate::keyboard_word(value->text()), std::string("keyboard.") + key,
                            t.location(key).str());
                values_.emplace_back(variable, value->text());
            }
        }
        if (values_.empty()) {
            t.fail("", "set at least one of model, layout, variant, options (for example layout = "
                       "\"gb\")");
        }
    }

    std::string_view name() const override { return "keyboard"; }
    bool writes_own_files() const override { return true; }

    std::vector<std::string> touches(const NodeContext&, const std::string&) const override {
        return {"/etc/default/keyboard"};
    }

    void apply(StepContext& ctx) const override {
        std::string content = ctx.fs.read_if_exists("/etc/default/keyboard").value_or("");
        for (const auto& [variable, value] : values_) {
            content = set_assignment(content, variable, value, true);
        }
        ctx.fs.write("/etc/default/keyboard", content);
    }

private:
    static constexpr std::pair<const char*, const char*> fields[] = {{"model", "XKBMODEL"},
                                                                     {"layout", "XKBLAYOUT"},
                                                                     {"variant", "XKBVARIANT"},
                                                                     {"options", "XKBOPTIONS"}};
    std::vector<std::pair<std::string, std::string>> values_;
};

} // namespace

void register_keyboard() {
    register_step("keyboard", [](StepTable& t) { return std::make_unique<KeyboardStep>(t); });
}

} // namespace pimint::steps
