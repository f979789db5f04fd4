// Recipes compose: includes come first, later tables override keys, --set overrides
// everything, steps keep the order they are written in (resizing first).
#include "disk_image.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>
#include <pimint/cluster/classroom.hpp>
#include <pimint/recipe/apply.hpp>
#include <pimint/recipe/recipe.hpp>

using namespace pimint;
using test::TempDir;
using test::write_file;

namespace {

std::vector<std::string> names(const Recipe& r) {
    std::vector<std::string> out;
    for (const auto& s : r.steps()) {
        out.emplace_back(s->name());
    }
    return out;
}

} // namespace

TEST_CASE("steps run in written order, includes first, image growth before all") {
    TempDir dir;
    write_file(dir / "common.toml", "[timezone]\nzone = \"Europe/London\"\n[ssh]\nenable = true\n");
    write_file(
        dir / "node.toml",
        "include = [\"common.toml\"]\n[wifi]\ncountry = \"GB\"\n[locale]\nlang = \"en_GB.UTF-8\"\n"
        "[image]\ngrow = \"+1G\"\n");
    const Recipe r = Recipe::load(dir / "node.toml");
    CHECK(names(r) == std::vector<std::string>{"image", "timezone", "ssh", "wifi", "locale"});
    CHECK(grow_bytes(r) == 1ULL << 30);
}

TEST_CASE("a later table overrides an included one key by key, and --set wins") {
    TempDir dir;
    write_file(dir / "common.toml", "[hostname]\nname = \"base\"\n[wifi]\ncountry = \"GB\"\n");
    write_file(dir / "node.toml",
               "include = [\"common.toml\"]\n[hostname]\nname = \"node{index:03}\"\n");
    const Recipe r = Recipe::load(dir / "node.toml", {"wifi.country=FR"});
    CHECK(names(r) == std::vector<std::string>{"hostname", "wifi"});
    NodeContext node;
    node.index = 7;
    const std::string plan = describe_plan(r, node);
    CHECK(plan.find("1. [hostname]") != std::string::npos);
    NodeContext planned;
    planned.index = 7;
    r.steps()[0]->contribute(planned);
    CHECK(planned.hostname == "node007");
}

TEST_CASE("[[files]] entries from several files are all kept") {
    TempDir dir;
    write_file(dir / "motd", "hello\n");
    write_file(dir / "common.toml", "[[files]]\npath = \"/etc/a\"\ncontent = \"a\"\n");
    write_file(dir / "node.toml",
               "include = [\"common.toml\"]\n[[files]]\npath = \"/etc/motd\"\nsource = \"motd\"\n"
               "mode = \"0640\"\n");
    const Recipe r = Recipe::load(dir / "node.toml");
    CHECK(names(r) == std::vector<std::string>{"files", "files"});
    CHECK(describe_plan(r, {}).find("/etc/motd") != std::string::npos);
}

TEST_CASE("the shipped recipes and class files are valid") {
    const char* source_root = std::getenv("PIMINT_SOURCE_ROOT");
    REQUIRE(source_root != nullptr);
    for (const auto& entry :
         std::filesystem::directory_iterator(std::filesystem::path(source_root) / "recipes")) {
        if (entry.path().extension() == ".toml") {
            INFO(entry.path());
            if (test::read_file(entry.path()).find("\n[classroom]\n") != std::string::npos) {
                CHECK_NOTHROW(load_classroom(entry.path()));
            } else {
                CHECK_NOTHROW(Recipe::load(entry.path()));
            }
        }
    }
}

TEST_CASE("registered step types include every built-in") {
    const auto types = registered_steps();
    for (const char* name : {"files", "firstboot", "hostname", "image", "keyboard", "locale",
                             "network", "ssh", "timezone", "user", "wifi"}) {
        CHECK(std::find(types.begin(), types.end(), name) != types.end());
    }
}

TEST_CASE("a program can add its own step type") {
    struct MotdStep : Step {
        std::string text;
        std::string_view name() const override { return "motd"; }
        std::vector<std::string> touches(const NodeContext&, const std::string&) const override {
            return {"/etc/motd"};
        }
        void apply(StepContext& ctx) const override { ctx.fs.write("/etc/motd", text); }
    };
    register_step("motd", [](StepTable& t) {
        auto step = std::make_unique<MotdStep>();
        step->text = t.string("text").value_or(Template()).text();
        return step;
    });
    TempDir dir;
    write_file(dir / "r.toml", "[motd]\ntext = \"Welcome\"\n");
    CHECK(Recipe::load(dir / "r.toml").steps().front()->name() == "motd");
    CHECK_THROWS(register_step("motd", [](StepTable&) { return std::unique_ptr<Step>(); }));
}
