// Checks for the values recipes hold. Each returns an empty string when the value is
// valid, otherwise a message saying what is wrong and what a valid value looks like.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pimint::validate {

std::string hostname(std::string_view name);      // RFC 1123 host name
std::string country_code(std::string_view code);  // ISO 3166-1 alpha-2
std::string locale_name(std::string_view name);   // ll_CC.UTF-8 and similar
std::string timezone_name(std::string_view zone); // Area/City, no '..'
std::string keyboard_word(std::string_view word); // an XKB model/layout/variant name
std::string ipv4(std::string_view address);
std::string ipv4_cidr(std::string_view cidr); // a.b.c.d/len
std::string ssh_public_key(std::string_view line);

// "+1G", "512M", "2048K" (K/M/G/T are powers of 1024) → bytes; nullopt when invalid.
std::optional<std::uint64_t> parse_size(std::string_view text);

} // namespace pimint::validate
