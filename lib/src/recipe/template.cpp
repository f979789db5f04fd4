#include "pimint/core/error.hpp"
#include "pimint/recipe/step.hpp"

#include <fmt/format.h>

namespace pimint {
namespace {

constexpr std::string_view known_placeholders = "{hostname}, {index}, {index:03}, {ip}, {cluster}";

struct Placeholder {
    std::string_view name;
    int width = 0; // {index:03}
};

// Walks `text`, handing literal pieces and placeholders to the callbacks. Returns an
// error message (empty when the text is valid).
template <typename Literal, typename Field>
std::string scan(std::string_view text, Literal&& literal, Field&& field) {
    size_t i = 0;
    while (i < text.size()) {
        const char c = text[i];
        if (c == '$' && i + 1 < text.size() && text[i + 1] == '{') {
            const size_t close = text.find('}', i);
            const size_t end = close == std::string_view::npos ? text.size() : close + 1;
            literal(text.substr(i, end - i));
            i = end;
        } else if ((c == '{' || c == '}') && i + 1 < text.size() && text[i + 1] == c) {
            literal(text.substr(i, 1));
            i += 2;
        } else if (c == '{') {
            const size_t close = text.find('}', i);
            if (close == std::string_view::npos) {
                // Quote only the start of the value: it may be a whole file's content.
                constexpr size_t excerpt = 24;
                return fmt::format("unclosed '{{' at \"{}{}\" (write {{{{ for a literal brace)",
                                   text.substr(i, excerpt), text.size() - i > excerpt ? "..." : "");
            }
            const std::string_view inside = text.substr(i + 1, close - i - 1);
            Placeholder p;
            p.name = inside.substr(0, inside.find(':'));
            const bool has_format = inside.find(':') != std::string_view::npos;
            const std::string_view format =
                has_format ? inside.substr(inside.find(':') + 1) : std::string_view();
            const bool known =
                p.name == "hostname" || p.name == "index" || p.name == "ip" || p.name == "cluster";
            bool format_ok = !has_format;
            if (has_format && p.name == "index" && format.size() >= 2 && format.size() <= 3 &&
                format[0] == '0') {
                format_ok = true;
                for (char d : format.substr(1)) {
                    format_ok = format_ok && d >= '0' && d <= '9';
                }
                if (format_ok) {
                    p.width = std::stoi(std::string(format.substr(1)));
                }
            }
            if (!known || !format_ok) {
                return fmt::format("unknown placeholder '{{{}}}'; known: {} (write {{{{ and }}}} "
                                   "for literal braces)",
                                   inside, known_placeholders);
            }
            field(p);
            i = close + 1;
        } else {
            const size_t next = text.find_first_of("${}", i + 1);
            const size_t end = next == std::string_view::npos ? text.size() : next;
            literal(text.substr(i, end - i));
            i = end;
        }
    }
    return {};
}

} // namespace

Template::Template(std::string text, const SourceLocation& where)
    : text_(std::move(text)) {
    const std::string error = scan(
        text_, [](std::string_view) {}, [this](const Placeholder&) { has_placeholders_ = true; });
    if (!error.empty()) {
        throw Error(ErrorCategory::recipe, where.str(), error);
    }
}

std::string Template::expand(const NodeContext& node) const {
    std::string out;
    scan(
        text_, [&](std::string_view piece) { out += piece; },
        [&](const Placeholder& p) {
            if (p.name == "hostname") {
                out += node.hostname;
            } else if (p.name == "index") {
                out += fmt::format("{:0{}}", node.index, p.width);
            } else if (p.name == "ip") {
                out += node.ip;
            } else {
                out += node.cluster;
            }
        });
    return out;
}

std::string SourceLocation::str() const {
    // Values from the command line are named by their --set argument.
    return line == 0 || file.starts_with("--set ") ? file
                                                   : fmt::format("{}:{}:{}", file, line, column);
}

} // namespace pimint
