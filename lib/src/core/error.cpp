#include "pimint/core/error.hpp"

#include <fmt/format.h>

namespace pimint {
namespace {

// An error is printed as one line, whatever text from a file or a tool it quotes:
// control characters are written as escapes.
std::string one_line(std::string text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\r') {
            out += "\\r";
        } else if (byte < 0x20 || byte == 0x7f) {
            out += fmt::format("\\x{:02x}", byte);
        } else {
            out += c;
        }
    }
    return out;
}

std::string compose(const std::string& context, const std::string& message) {
    return context.empty() ? message : context + ": " + message;
}

} // namespace

Error::Error(ErrorCategory category, std::string context, std::string message)
    : std::runtime_error(compose(one_line(context), one_line(message)))
    , category_(category)
    , context_(one_line(std::move(context)))
    , message_(one_line(std::move(message))) {}

int exit_code(ErrorCategory category) noexcept {
    switch (category) {
    case ErrorCategory::usage:
        return 2;
    case ErrorCategory::recipe:
        return 3;
    case ErrorCategory::image:
        return 4;
    case ErrorCategory::io:
        return 5;
    case ErrorCategory::appliance:
        return 6;
    case ErrorCategory::build:
        return 7;
    case ErrorCategory::secret:
        return 8;
    case ErrorCategory::target:
        return 9;
    case ErrorCategory::interrupted:
        return 130;
    case ErrorCategory::internal:
        return 70;
    }
    return 70;
}

std::string_view category_name(ErrorCategory category) noexcept {
    switch (category) {
    case ErrorCategory::usage:
        return "usage";
    case ErrorCategory::recipe:
        return "recipe";
    case ErrorCategory::image:
        return "image";
    case ErrorCategory::io:
        return "io";
    case ErrorCategory::appliance:
        return "appliance";
    case ErrorCategory::build:
        return "build";
    case ErrorCategory::secret:
        return "secret";
    case ErrorCategory::target:
        return "target";
    case ErrorCategory::interrupted:
        return "interrupted";
    case ErrorCategory::internal:
        return "internal";
    }
    return "internal";
}

} // namespace pimint
