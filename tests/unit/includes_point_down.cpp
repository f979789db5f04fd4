// The parts of lib/src (and of the public headers) use only themselves and the parts
// below them, in the order of the data flow; the CLI uses only the public API. The rule
// is read off every `#include "..."` line, so it holds for every file added later.
#include "temp_dir.hpp"

#include <algorithm>
#include <cstdlib>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

// Lowest first; docs/architecture.md draws the same order.
const std::vector<std::string> parts = {"core",   "image",   "mpich",   "packages",
                                        "recipe", "cluster", "publish", "cards"};
const int cli_rank = static_cast<int>(parts.size());

int rank_of(const std::string& part) {
    const auto it = std::find(parts.begin(), parts.end(), part);
    return it == parts.end() ? -1 : static_cast<int>(it - parts.begin());
}

std::string first_component(const fs::path& p) {
    return p.empty() ? std::string() : p.begin()->string();
}

// The rank of the part an include names: "core/text.hpp", "pimint/image/appliance.hpp";
// "pimint/pimint.hpp" (all of the API) stands at the top of the library. -1 when the
// name is no part of the library (a tool's own header).
int included_rank(const std::string& name, bool* is_private) {
    const fs::path p(name);
    *is_private = false;
    if (first_component(p) == "pimint") {
        if (p == "pimint/pimint.hpp") {
            return cli_rank - 1;
        }
        return rank_of(first_component(p.lexically_relative("pimint")));
    }
    *is_private = true;
    return rank_of(first_component(p));
}

// Every include in `root` that points up, or that names no part from inside the library,
// or that reaches past the public API from the CLI: "file:line: the problem".
std::vector<std::string> wrong_includes(const fs::path& root) {
    static const std::regex include_line(R"re(^\s*#\s*include\s+"([^"]+)")re");
    std::vector<std::string> problems;
    const auto check_tree = [&](const fs::path& dir, auto&& rank_of_file) {
        if (!fs::exists(root / dir)) {
            return;
        }
        for (const auto& entry : fs::recursive_directory_iterator(root / dir)) {
            const auto ext = entry.path().extension();
            if (!entry.is_regular_file() || (ext != ".cpp" && ext != ".hpp")) {
                continue;
            }
            const fs::path rel = entry.path().lexically_relative(root);
            const int own = rank_of_file(entry.path().lexically_relative(root / dir));
            if (own < 0) {
                problems.push_back(rel.string() + ": in no part; move it into a part's folder");
                continue;
            }
            std::ifstream in(entry.path());
            std::string line;
            for (int number = 1; std::getline(in, line); ++number) {
                std::smatch m;
                if (!std::regex_search(line, m, include_line)) {
                    continue;
                }
                bool is_private = false;
                const int used = included_rank(m[1].str(), &is_private);
                const std::string where = rel.string() + ":" + std::to_string(number) + ": ";
                if (own == cli_rank) {
                    if (used >= 0 && is_private) {
                        problems.push_back(where + m[1].str() +
                                           " is private to the library; the CLI uses pimint/");
                    }
                } else if (used < 0) {
                    problems.push_back(where + m[1].str() + " names no part; write part/file");
                } else if (used > own) {
                    problems.push_back(where + m[1].str() + " is in a part above " + parts[own]);
                }
            }
        }
    };
    check_tree("lib/src", [](const fs::path& rel) { return rank_of(first_component(rel)); });
    check_tree("lib/include/pimint", [](const fs::path& rel) {
        return rel == "pimint.hpp" ? cli_rank - 1 : rank_of(first_component(rel));
    });
    check_tree("tools/pimint", [](const fs::path&) { return cli_rank; });
    return problems;
}

void write_file(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
}

} // namespace

TEST_CASE("every include in the library and the CLI points down") {
    const char* root = std::getenv("PIMINT_SOURCE_ROOT");
    REQUIRE(root != nullptr);
    REQUIRE(fs::exists(fs::path(root) / "lib" / "src" / "core"));
    const auto problems = wrong_includes(root);
    for (const auto& p : problems) {
        MESSAGE(p);
    }
    CHECK(problems.empty());
}

TEST_CASE("a back include, a file or include outside the parts, a private one in the CLI fail") {
    pimint::test::TempDir tree;
    write_file(tree / "lib/src/image/gpt.cpp", "#include \"core/text.hpp\"\n"
                                               "#include \"pimint/image/appliance.hpp\"\n");
    CHECK(wrong_includes(tree.path()).empty());

    write_file(tree / "lib/src/core/text.cpp", "#include \"core/text.hpp\"\n"
                                               "  #include \"cluster/cluster_keys.hpp\"\n");
    write_file(tree / "lib/include/pimint/image/appliance.hpp",
               "#include \"pimint/recipe/recipe.hpp\"\n");
    write_file(tree / "lib/src/recipe/steps/ssh.cpp", "#include \"support.hpp\"\n");
    write_file(tree / "lib/src/loose.cpp", "#include \"core/text.hpp\"\n");
    write_file(tree / "tools/pimint/main.cpp", "#include \"command.hpp\"\n"
                                               "#include \"pimint/pimint.hpp\"\n"
                                               "#include \"core/text.hpp\"\n");
    auto problems = wrong_includes(tree.path());
    std::sort(problems.begin(), problems.end());
    REQUIRE(problems.size() == 5);
    CHECK(problems[0] ==
          "lib/include/pimint/image/appliance.hpp:1: pimint/recipe/recipe.hpp is in a part "
          "above image");
    CHECK(problems[1] == "lib/src/core/text.cpp:2: cluster/cluster_keys.hpp is in a part above "
                         "core");
    CHECK(problems[2] == "lib/src/loose.cpp: in no part; move it into a part's folder");
    CHECK(problems[3] == "lib/src/recipe/steps/ssh.cpp:1: support.hpp names no part; write "
                         "part/file");
    CHECK(problems[4] ==
          "tools/pimint/main.cpp:3: core/text.hpp is private to the library; the CLI uses pimint/");
}
