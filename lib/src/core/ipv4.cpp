#include "core/ipv4.hpp"

#include <fmt/format.h>

namespace pimint::ipv4 {

std::uint32_t parse(const std::string& address) {
    std::uint32_t value = 0;
    size_t pos = 0;
    for (int i = 0; i < 4; ++i) {
        const size_t dot = address.find('.', pos);
        value = value << 8 | static_cast<std::uint32_t>(std::stoul(address.substr(pos, dot - pos)));
        pos = dot + 1;
    }
    return value;
}

std::string format(std::uint32_t a) {
    return fmt::format("{}.{}.{}.{}", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

Subnet parse_subnet(const std::string& cidr) {
    const auto slash = cidr.find('/');
    Subnet s;
    s.prefix = std::stoi(cidr.substr(slash + 1));
    const std::uint32_t mask = s.prefix == 0 ? 0 : ~std::uint32_t(0) << (32 - s.prefix);
    s.network = parse(cidr.substr(0, slash)) & mask;
    return s;
}

std::uint32_t Subnet::first_host() const {
    return prefix >= 31 ? network : network + 1;
}

std::uint32_t Subnet::last_host() const {
    const std::uint32_t size =
        prefix == 0 ? ~std::uint32_t(0) : (std::uint32_t(1) << (32 - prefix)) - 1;
    return prefix >= 31 ? network + size : network + size - 1; // not the broadcast address
}

} // namespace pimint::ipv4
