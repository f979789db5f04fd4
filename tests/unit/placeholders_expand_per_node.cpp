#include <doctest/doctest.h>
#include <pimint/core/error.hpp>
#include <pimint/recipe/step.hpp>

using namespace pimint;

TEST_CASE("placeholders expand with the node's fields") {
    NodeContext node;
    node.hostname = "worker003";
    node.index = 3;
    node.ip = "192.168.1.13";
    node.cluster = "lab1";
    const SourceLocation here{"r.toml", 1, 1};
    CHECK(Template("{hostname}.{cluster} {ip} #{index} {index:03}", here).expand(node) ==
          "worker003.lab1 192.168.1.13 #3 003");
    CHECK(Template("PATH=${PATH}:/x {{not}} }", here).expand(node) == "PATH=${PATH}:/x {not} }");
    CHECK_FALSE(Template("plain text", here).has_placeholders());
    CHECK(Template("{ip}", here).has_placeholders());
}

TEST_CASE("malformed placeholders are errors with the location") {
    const SourceLocation here{"r.toml", 4, 9};
    for (const char* bad : {"{host}", "{index:3}", "{ip:03}", "open {", "{}", "{index:0x}"}) {
        INFO(bad);
        try {
            Template(bad, here);
            FAIL("accepted");
        } catch (const Error& e) {
            CHECK(std::string(e.what()).starts_with("r.toml:4:9: "));
        }
    }
}
