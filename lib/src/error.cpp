#include "pimint/error.hpp"

namespace pimint {
namespace {

std::string compose(const std::string& context, const std::string& message) {
    return context.empty() ? message : context + ": " + message;
}

} // namespace

Error::Error(ErrorCategory category, std::string context, std::string message)
    : std::runtime_error(compose(context, message))
    , category_(category)
    , context_(std::move(context))
    , message_(std::move(message)) {}

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
    case ErrorCategory::interrupted:
        return "interrupted";
    case ErrorCategory::internal:
        return "internal";
    }
    return "internal";
}

} // namespace pimint
