#include "image/source_date.hpp"

#include "pimint/core/error.hpp"

#include <cstdlib>
#include <fmt/format.h>

namespace pimint {

std::optional<std::int64_t> source_date_epoch() {
    const char* epoch = std::getenv("SOURCE_DATE_EPOCH");
    if (epoch == nullptr || *epoch == '\0') {
        return std::nullopt;
    }
    char* end = nullptr;
    errno = 0;
    const long long value = std::strtoll(epoch, &end, 10);
    if (*end != '\0' || value < 0 || errno == ERANGE) {
        throw Error(ErrorCategory::usage, "SOURCE_DATE_EPOCH",
                    fmt::format("\"{}\" is not a number of seconds since 1970; unset it or give "
                                "one such as $(git log -1 --format=%ct)",
                                epoch));
    }
    return value;
}

void clamp_to_source_date(Appliance& appliance) {
    if (const auto epoch = source_date_epoch()) {
        appliance.clamp_mtimes(*epoch);
    }
}

} // namespace pimint
