#include "core/validate.hpp"

#include <doctest/doctest.h>

using namespace pimint::validate;

TEST_CASE("host names follow RFC 1123") {
    CHECK(hostname("worker001").empty());
    CHECK(hostname("master").empty());
    CHECK(hostname("a").empty());
    CHECK_FALSE(hostname("").empty());
    CHECK_FALSE(hostname("-worker").empty());
    CHECK_FALSE(hostname("worker-").empty());
    CHECK_FALSE(hostname("my_pi").empty());
    CHECK_FALSE(hostname(std::string(64, 'a')).empty());
}

TEST_CASE("country codes are ISO 3166-1 alpha-2") {
    CHECK(country_code("GB").empty());
    CHECK(country_code("US").empty());
    CHECK_FALSE(country_code("UK").empty());
    CHECK_FALSE(country_code("gb").empty());
    CHECK_FALSE(country_code("GBR").empty());
}

TEST_CASE("IPv4 addresses and prefixes") {
    CHECK(ipv4("192.168.1.10").empty());
    CHECK_FALSE(ipv4("192.168.1").empty());
    CHECK_FALSE(ipv4("192.168.1.256").empty());
    CHECK_FALSE(ipv4("1.2.3.4.5").empty());
    CHECK_FALSE(ipv4("a.b.c.d").empty());
    CHECK(ipv4_cidr("10.0.0.1/8").empty());
    CHECK_FALSE(ipv4_cidr("10.0.0.1").empty());
    CHECK_FALSE(ipv4_cidr("10.0.0.1/33").empty());
}

TEST_CASE("SSH public keys are checked against their embedded type") {
    // A structurally valid ed25519 key: "ssh-ed25519" length-prefixed, then 32 key bytes.
    const std::string key =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHtJ4EPg2/dlcqDc0xhl5+cHuK4iyTHRRzrjmEwNyDkE "
        "user@host";
    CHECK(ssh_public_key(key).empty());
    CHECK_FALSE(ssh_public_key(
                    "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIHtJ4EPg2/dlcqDc0xhl5+cHuK4iyTHRRzrjmEwNyDkE")
                    .empty());
    CHECK_FALSE(ssh_public_key("ssh-dss AAAA").empty());
    CHECK_FALSE(ssh_public_key("-----BEGIN OPENSSH PRIVATE KEY-----").empty());
}

TEST_CASE("sizes take K, M, G, T suffixes") {
    CHECK(parse_size("+1G") == 1ULL << 30);
    CHECK(parse_size("512M") == 512ULL << 20);
    CHECK(parse_size("100") == 100);
    CHECK_FALSE(parse_size("1X").has_value());
    CHECK_FALSE(parse_size("G").has_value());
    CHECK_FALSE(parse_size("99999999999T").has_value());
}

TEST_CASE("locale and time zone names") {
    CHECK(locale_name("en_GB.UTF-8").empty());
    CHECK(locale_name("C.UTF-8").empty());
    CHECK_FALSE(locale_name("english").empty());
    CHECK(timezone_name("Europe/London").empty());
    CHECK(timezone_name("America/Argentina/Buenos_Aires").empty());
    CHECK_FALSE(timezone_name("/etc/passwd").empty());
    CHECK_FALSE(timezone_name("../x").empty());
}
