// Every recipe mistake is reported as file:line:col (or the --set argument) with a
// message that says how to fix it, before any image is opened.
#include "disk_image.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>
#include <pimint/core/error.hpp>
#include <pimint/recipe/recipe.hpp>

using namespace pimint;
using test::TempDir;
using test::write_file;

namespace {

std::string error_of(const std::filesystem::path& path, const std::vector<std::string>& sets = {}) {
    try {
        Recipe::load(path, sets);
    } catch (const Error& e) {
        CHECK(e.category() == ErrorCategory::recipe);
        return e.what();
    }
    FAIL("the recipe loaded without an error");
    return {};
}

std::string error_of_text(const TempDir& dir, const std::string& text) {
    write_file(dir / "r.toml", text);
    return error_of(dir / "r.toml");
}

} // namespace

TEST_CASE("a misspelled key gives file:line:col and a suggestion") {
    TempDir dir;
    const std::string e = error_of_text(dir, "[wifi]\ncountry = \"GB\"\ncontry = \"FR\"\n");
    CHECK(e == (dir / "r.toml").string() +
                   ":3:1: unknown key 'contry' in [wifi] (did you mean 'country'?)");
}

TEST_CASE("a misspelled table is suggested too") {
    TempDir dir;
    CHECK(error_of_text(dir, "[timezon]\nzone = \"Europe/London\"\n")
              .find(":1:1: unknown table [timezon] (did you mean 'timezone'?)") !=
          std::string::npos);
}

TEST_CASE("syntax errors carry the parser's position") {
    TempDir dir;
    CHECK(
        error_of_text(dir, "[ssh]\nenable = yes\n").starts_with((dir / "r.toml").string() + ":2:"));
}

TEST_CASE("wrong types say what was expected") {
    TempDir dir;
    CHECK(error_of_text(dir, "[ssh]\nenable = \"yes\"\n")
              .find(":2:10: ssh.enable: expected true or false, found a string") !=
          std::string::npos);
    CHECK(error_of_text(dir, "[user]\nbashrc = [1]\n")
              .find("expected strings in the array, found an integer") != std::string::npos);
    CHECK(error_of_text(dir, "ssh = 3\n").find("'ssh' must be a table") != std::string::npos);
}

TEST_CASE("invalid values are rejected with an example of a valid one") {
    TempDir dir;
    CHECK(error_of_text(dir, "[wifi]\ncountry = \"UK\"\n")
              .find("not an ISO 3166-1 alpha-2 country code") != std::string::npos);
    CHECK(error_of_text(dir, "[hostname]\nname = \"my_pi\"\n").find("not a valid host name") !=
          std::string::npos);
    CHECK(error_of_text(dir, "[timezone]\nzone = \"../../etc/passwd\"\n")
              .find("not a time zone name") != std::string::npos);
    CHECK(error_of_text(dir, "[locale]\nlang = \"english\"\n").find("write it like en_GB.UTF-8") !=
          std::string::npos);
    CHECK(error_of_text(dir, "[network]\naddress = \"192.168.1.300/24\"\n")
              .find("not an address with prefix length") != std::string::npos);
    CHECK(error_of_text(dir, "[network]\naddress = \"10.0.0.2/8\"\ngateway = \"10.0.0\"\n")
              .find("network.gateway") != std::string::npos);
    CHECK(error_of_text(dir, "[user]\nauthorized_keys = [\"ssh-rsa notbase64!\"]\n")
              .find("not an OpenSSH public key") != std::string::npos);
    CHECK(error_of_text(dir, "[image]\ngrow = \"lots\"\n").find("is not a size") !=
          std::string::npos);
    CHECK(error_of_text(dir, "[wifi]\ncountry = \"GB\"\nssid = \"net\"\npassphrase = \"short\"\n")
              .find("8 to 63") != std::string::npos);
    CHECK(error_of_text(dir, "[wifi]\ncountry = \"GB\"\nssid = \"net\"\n")
              .find("give exactly one of 'passphrase' and 'psk'") != std::string::npos);
}

TEST_CASE("unknown placeholders are errors, shell variables are not") {
    TempDir dir;
    CHECK(error_of_text(dir, "[hostname]\nname = \"node{idx}\"\n")
              .find("unknown placeholder '{idx}'") != std::string::npos);
    write_file(dir / "ok.toml",
               "[user]\nbashrc = [\"export PATH=${PATH}:/opt/bin\", \"echo {{literal}}\"]\n");
    CHECK_NOTHROW(Recipe::load(dir / "ok.toml"));
}

TEST_CASE("include cycles and missing includes are errors at the include") {
    TempDir dir;
    write_file(dir / "a.toml", "include = [\"b.toml\"]\n");
    write_file(dir / "b.toml", "include = [\"a.toml\"]\n");
    CHECK(error_of(dir / "a.toml").find("b.toml:1:12: include cycle") != std::string::npos);
    write_file(dir / "c.toml", "include = [\"missing.toml\"]\n");
    CHECK(error_of(dir / "c.toml").find("c.toml:1:12: included file") != std::string::npos);
}

TEST_CASE("files sources may not leave the recipe's directory") {
    TempDir dir;
    std::filesystem::create_directory(dir / "recipes");
    write_file(dir / "secret", "x");
    write_file(dir / "recipes" / "r.toml",
               "[[files]]\npath = \"/etc/x\"\nsource = \"../secret\"\n");
    CHECK(error_of(dir / "recipes" / "r.toml").find("outside the recipe's directory") !=
          std::string::npos);
    write_file(dir / "recipes" / "r.toml", "[[files]]\npath = \"/etc/../../x\"\ncontent = \"x\"\n");
    CHECK(error_of(dir / "recipes" / "r.toml").find("'..' is not allowed") != std::string::npos);
    write_file(dir / "recipes" / "r.toml", "[[files]]\npath = \"etc/x\"\ncontent = \"x\"\n");
    CHECK(error_of(dir / "recipes" / "r.toml").find("must be absolute") != std::string::npos);
}

TEST_CASE("--set errors never repeat the value, which may be a secret") {
    TempDir dir;
    write_file(dir / "r.toml", "[user]\n");
    const std::string e = error_of(dir / "r.toml", {"user.pasword=hunter2hunter2"});
    CHECK(e == "--set user.pasword: unknown key 'pasword' in [user] (did you mean 'password'?)");
    CHECK(e.find("hunter2") == std::string::npos);
}

TEST_CASE("--set errors name the argument") {
    TempDir dir;
    write_file(dir / "r.toml", "[wifi]\ncountry = \"GB\"\n");
    CHECK(error_of(dir / "r.toml", {"wifi.contry=FR"}) ==
          "--set wifi.contry: unknown key 'contry' in [wifi] (did you mean 'country'?)");
    CHECK(error_of(dir / "r.toml", {"wifi.country=ZZ"})
              .starts_with("--set wifi.country: wifi.country:"));
    CHECK(error_of(dir / "r.toml", {"nonsense"}).find("expected table.key=value") !=
          std::string::npos);
    CHECK(error_of(dir / "r.toml", {"files.path=/x"}).find("cannot be set from the command line") !=
          std::string::npos);
}
