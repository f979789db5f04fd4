// [locale]: the system locale (/etc/default/locale) and the locales to build
// (/etc/locale.gen). Building them needs the image's own localedef, so a first-boot
// service runs locale-gen once, before the first login.
#include "core/text.hpp"
#include "core/validate.hpp"
#include "pimint/core/error.hpp"
#include "recipe/steps/builtin_steps.hpp"
#include "recipe/steps/support.hpp"

#include <fmt/format.h>

namespace pimint::steps {
namespace {

class LocaleStep final : public Step {
public:
    explicit LocaleStep(StepTable& t)
        : where_(t.location("lang")) {
        const auto lang = t.string("lang");
        if (!lang) {
            t.fail("", "give the system locale: lang = \"en_GB.UTF-8\"");
        }
        lang_ = lang->text();
        check_value(validate::locale_name(lang_), "locale.lang", where_.str());
        generate_ = {lang_};
        if (auto extra = t.strings("generate")) {
            generate_.clear();
            for (const auto& g : *extra) {
                check_value(validate::locale_name(g.text()), "locale.generate",
                            t.location("generate").str());
                generate_.push_back(g.text());
            }
        }
    }

    std::string_view name() const override { return "locale"; }
    bool writes_own_files() const override { return true; }

    std::vector<std::string> touches(const NodeContext&, const std::string&) const override {
        return {"/etc/locale.gen", "/etc/default/locale",
                "/etc/systemd/system/pimint-locale-gen.service"};
    }

    void apply(StepContext& ctx) const override {
        ImageFs& fs = ctx.fs;
        const std::string supported = fs.read_if_exists("/usr/share/i18n/SUPPORTED").value_or("");
        std::string locale_gen = fs.read_if_exists("/etc/locale.gen").value_or("");
        for (const auto& name : generate_) {
            const std::string line = supported_line(supported, name);
            locale_gen = enable_line(locale_gen, line);
        }
        fs.write("/etc/locale.gen", locale_gen);
        const std::string defaults = fs.read_if_exists("/etc/default/locale").value_or("");
        fs.write("/etc/default/locale", set_assignment(defaults, "LANG", lang_, false));
        install_first_boot_service(fs, "pimint-locale-gen", "Generate the locales chosen by pimint",
                                   "/usr/sbin/locale-gen\n");
    }

private:
    // "en_GB.UTF-8 UTF-8", as listed in the image's SUPPORTED file.
    std::string supported_line(const std::string& supported, const std::string& name) const {
        if (supported.empty()) {
            const auto dot = name.find('.');
            return name + " " +
                   (dot == std::string::npos ? std::string("ISO-8859-1") : name.substr(dot + 1));
        }
        for (auto line : text::split_lines(supported)) {
            const auto fields = text::split_ws(line);
            if (fields.size() == 2 && fields[0] == name) {
                return std::string(text::trim(line));
            }
        }
        throw Error(
            ErrorCategory::recipe, where_.str(),
            fmt::format(
                "locale: '{}' is not in the image's /usr/share/i18n/SUPPORTED; use a listed "
                "name such as en_GB.UTF-8",
                name));
    }

    // Uncomments `line` in locale.gen, or appends it.
    static std::string enable_line(const std::string& content, const std::string& line) {
        std::string out;
        bool found = false;
        for (auto l : text::split_lines(content)) {
            std::string_view t = text::trim(l);
            std::string_view uncommented = t;
            while (!uncommented.empty() && uncommented.front() == '#') {
                uncommented = text::trim(uncommented.substr(1));
            }
            if (!found && uncommented == line) {
                out += line + "\n";
                found = true;
            } else {
                out += std::string(l) + "\n";
            }
        }
        if (!found) {
            out += line + "\n";
        }
        return out;
    }

    SourceLocation where_;
    std::string lang_;
    std::vector<std::string> generate_;
};

} // namespace

void register_locale() {
    register_step("locale", [](StepTable& t) { return std::make_unique<LocaleStep>(t); });
}

} // namespace pimint::steps
