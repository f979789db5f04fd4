// SOURCE_DATE_EPOCH (reproducible-builds.org): when it is set, a build must not depend
// on the clock or on randomness that is not an input. pimint then dates what it writes
// into images at that time, and derives what would otherwise be random (password salts)
// from the build's inputs.
#pragma once

#include "pimint/image/appliance.hpp"

#include <cstdint>
#include <optional>

namespace pimint {

// The value of $SOURCE_DATE_EPOCH; nullopt when unset or empty. Throws Error(usage)
// naming the variable when it is not a number of seconds since 1970.
std::optional<std::int64_t> source_date_epoch();

// With SOURCE_DATE_EPOCH set: gives every file and directory of the image mounted in
// `appliance` that is newer than it that time (Appliance::clamp_mtimes). Otherwise
// nothing.
void clamp_to_source_date(Appliance& appliance);

} // namespace pimint
