#include "core/validate.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <vector>

namespace pimint::validate {
namespace {

// ISO 3166-1 alpha-2, officially assigned codes.
constexpr std::array<std::string_view, 249> countries{
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW"};

bool is_alnum(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

std::optional<std::vector<unsigned char>> base64_decode(std::string_view text) {
    if (text.empty() || text.size() % 4 != 0) {
        return std::nullopt;
    }
    std::vector<unsigned char> out(text.size() / 4 * 3);
    const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                  static_cast<int>(text.size()));
    if (n < 0) {
        return std::nullopt;
    }
    size_t padding = 0;
    for (size_t i = text.size(); i > 0 && text[i - 1] == '='; --i) {
        ++padding;
    }
    out.resize(static_cast<size_t>(n) - padding);
    return out;
}

} // namespace

std::string hostname(std::string_view name) {
    if (name.empty() || name.size() > 63) {
        return fmt::format("'{}' is not a valid host name: use 1 to 63 letters, digits and hyphens",
                           name);
    }
    const bool chars_ok =
        std::all_of(name.begin(), name.end(), [](char c) { return is_alnum(c) || c == '-'; });
    if (!chars_ok || name.front() == '-' || name.back() == '-') {
        return fmt::format(
            "'{}' is not a valid host name (RFC 1123): letters, digits and inner hyphens only, "
            "such as worker001",
            name);
    }
    return {};
}

std::string country_code(std::string_view code) {
    if (std::find(countries.begin(), countries.end(), code) == countries.end()) {
        return fmt::format(
            "'{}' is not an ISO 3166-1 alpha-2 country code; use two capital letters such as GB, "
            "US or DE",
            code);
    }
    return {};
}

std::string locale_name(std::string_view name) {
    // ll_CC[.charset][@modifier], or C.UTF-8
    const bool ok =
        !name.empty() && name.size() < 64 &&
        std::all_of(
            name.begin(), name.end(),
            [](char c) { return is_alnum(c) || c == '_' || c == '.' || c == '-' || c == '@'; }) &&
        (name == "C.UTF-8" || name.find('_') != std::string_view::npos);
    if (!ok) {
        return fmt::format("'{}' is not a locale name; write it like en_GB.UTF-8", name);
    }
    return {};
}

std::string timezone_name(std::string_view zone) {
    const bool ok = !zone.empty() && zone.front() != '/' &&
                    zone.find("..") == std::string_view::npos &&
                    std::all_of(zone.begin(), zone.end(), [](char c) {
                        return is_alnum(c) || c == '/' || c == '_' || c == '-' || c == '+';
                    });
    if (!ok) {
        return fmt::format("'{}' is not a time zone name; write it like Europe/London", zone);
    }
    return {};
}

std::string keyboard_word(std::string_view word) {
    const bool ok = std::all_of(word.begin(), word.end(), [](char c) {
        return is_alnum(c) || c == '_' || c == '-' || c == ',' || c == ':';
    });
    if (!ok) {
        return fmt::format("'{}' is not an XKB name; use names such as pc105, gb or us", word);
    }
    return {};
}

std::string ipv4(std::string_view address) {
    int parts = 0;
    size_t pos = 0;
    while (pos <= address.size()) {
        const size_t dot = std::min(address.find('.', pos), address.size());
        const std::string_view part = address.substr(pos, dot - pos);
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
        if (part.empty() || part.size() > 3 || ec != std::errc{} ||
            end != part.data() + part.size() || value > 255) {
            return fmt::format("'{}' is not an IPv4 address such as 192.168.1.10", address);
        }
        ++parts;
        pos = dot + 1;
    }
    if (parts != 4) {
        return fmt::format("'{}' is not an IPv4 address such as 192.168.1.10", address);
    }
    return {};
}

std::string ipv4_cidr(std::string_view cidr) {
    const size_t slash = cidr.find('/');
    const std::string_view length =
        slash == std::string_view::npos ? std::string_view() : cidr.substr(slash + 1);
    unsigned bits = 0;
    const auto [end, ec] = std::from_chars(length.data(), length.data() + length.size(), bits);
    if (slash == std::string_view::npos || !ipv4(cidr.substr(0, slash)).empty() || length.empty() ||
        ec != std::errc{} || end != length.data() + length.size() || bits > 32) {
        return fmt::format("'{}' is not an address with prefix length such as 192.168.1.10/24",
                           cidr);
    }
    return {};
}

std::string ssh_public_key(std::string_view line) {
    static constexpr std::array<std::string_view, 7> types{"ssh-ed25519",
                                                           "ssh-rsa",
                                                           "ecdsa-sha2-nistp256",
                                                           "ecdsa-sha2-nistp384",
                                                           "ecdsa-sha2-nistp521",
                                                           "sk-ssh-ed25519@openssh.com",
                                                           "sk-ecdsa-sha2-nistp256@openssh.com"};
    const size_t space = line.find(' ');
    const std::string_view type = line.substr(0, space);
    const std::string_view rest =
        space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
    const std::string_view blob = rest.substr(0, rest.find(' '));
    const auto bad = [&](std::string_view why) {
        return fmt::format("not an OpenSSH public key ({}); paste one line of a .pub file, such as "
                           "'ssh-ed25519 AAAA... user@host'",
                           why);
    };
    if (std::find(types.begin(), types.end(), type) == types.end()) {
        return bad(fmt::format("unknown key type '{}'", type));
    }
    const auto decoded = base64_decode(blob);
    if (!decoded || decoded->size() < 4) {
        return bad("the key data is not base64");
    }
    // The blob starts with the key type as a length-prefixed string.
    const auto& d = *decoded;
    const size_t n = size_t(d[0]) << 24 | size_t(d[1]) << 16 | size_t(d[2]) << 8 | size_t(d[3]);
    if (n + 4 > d.size() ||
        std::string_view(reinterpret_cast<const char*>(d.data()) + 4, n) != type) {
        return bad("the key data does not match its type");
    }
    return {};
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
    if (!text.empty() && text.front() == '+') {
        text.remove_prefix(1);
    }
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end == text.data()) {
        return std::nullopt;
    }
    const std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
    int shift = 0;
    if (unit == "K" || unit == "KiB") {
        shift = 10;
    } else if (unit == "M" || unit == "MiB") {
        shift = 20;
    } else if (unit == "G" || unit == "GiB") {
        shift = 30;
    } else if (unit == "T" || unit == "TiB") {
        shift = 40;
    } else if (!unit.empty()) {
        return std::nullopt;
    }
    if (value > (UINT64_MAX >> shift)) {
        return std::nullopt;
    }
    return value << shift;
}

} // namespace pimint::validate
