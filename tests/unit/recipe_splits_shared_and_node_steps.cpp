// For a cluster, a recipe splits into the steps every node shares (applied once to a
// stage image) and each node's own steps, without changing the order of two writes that
// may touch the same file.
#include "disk_image.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>
#include <pimint/recipe/recipe.hpp>

using namespace pimint;
using test::TempDir;
using test::write_file;

namespace {

std::vector<std::string> names(const std::vector<const Step*>& steps) {
    std::vector<std::string> out;
    for (const Step* s : steps) {
        out.emplace_back(s->name());
    }
    return out;
}

using Names = std::vector<std::string>;

} // namespace

TEST_CASE("steps that read the node or hold a placeholder are the node's own") {
    TempDir dir;
    write_file(dir / "r.toml", "[image]\ngrow = \"+64M\"\n[ssh]\nenable = true\n"
                               "[hostname]\nname = \"pi\"\n[locale]\nlang = \"en_GB.UTF-8\"\n"
                               "[firstboot]\ncommands = [\"echo {hostname}\"]\n"
                               "[network]\naddress = \"10.0.0.5/24\"\n"
                               "[timezone]\nzone = \"Europe/London\"\n");
    const Recipe recipe = Recipe::load(dir / "r.toml");
    const auto split = recipe.split_for_nodes();
    // Typed steps write only their own files, so the shared ones move ahead of the
    // node's steps they follow in the recipe.
    CHECK(names(split.shared) == Names{"image", "ssh", "locale", "timezone"});
    CHECK(names(split.own) == Names{"hostname", "firstboot", "network"});
}

TEST_CASE("a step that may write any path keeps its place after the node's own steps") {
    TempDir dir;
    write_file(dir / "r.toml",
               "[ssh]\nenable = true\n[hostname]\nname = \"pi\"\n"
               "[[files]]\npath = \"/etc/default/keyboard\"\ncontent = \"after the name\"\n"
               "[keyboard]\nlayout = \"gb\"\n");
    const Recipe recipe = Recipe::load(dir / "r.toml");
    const auto split = recipe.split_for_nodes();
    // [[files]] may write what [hostname] writes, and [keyboard] what [[files]]
    // writes, so both stay behind.
    CHECK(names(split.shared) == Names{"ssh"});
    CHECK(names(split.own) == Names{"hostname", "files", "keyboard"});
}

TEST_CASE("a recipe without node-dependent steps is shared whole") {
    TempDir dir;
    write_file(dir / "r.toml", "[ssh]\nenable = true\n[[files]]\npath = \"/etc/motd\"\n"
                               "content = \"hello\"\n[wifi]\ncountry = \"GB\"\n");
    const Recipe recipe = Recipe::load(dir / "r.toml");
    const auto split = recipe.split_for_nodes();
    CHECK(names(split.shared) == Names{"ssh", "files", "wifi"});
    CHECK(split.own.empty());
}
