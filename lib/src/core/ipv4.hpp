// IPv4 addresses as numbers, for planning a cluster's addresses.
#pragma once

#include <cstdint>
#include <string>

namespace pimint::ipv4 {

// Parses a dotted quad already checked by validate::ipv4.
std::uint32_t parse(const std::string& address);
std::string format(std::uint32_t address);

struct Subnet {
    std::uint32_t network = 0;
    int prefix = 0;
    std::uint32_t first_host() const;
    std::uint32_t last_host() const;
};
// Parses "a.b.c.d/len" already checked by validate::ipv4_cidr.
Subnet parse_subnet(const std::string& cidr);

} // namespace pimint::ipv4
