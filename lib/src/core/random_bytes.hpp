// Randomness from the kernel (getrandom), for identities that must differ per node:
// random seeds, disk signatures, filesystem UUIDs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace pimint {

std::string random_bytes(std::size_t n);
std::uint32_t random_u32();

} // namespace pimint
