// Fuzz target for everything pimint reads from a user's text before touching an image:
// the input is taken as a placeholder template, as a recipe (steps, includes, [cluster])
// and as a class file. Rejecting the input with pimint::Error is the expected outcome;
// any other exception, a crash, or an error message that is not one line is a finding.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <pimint/cluster/classroom.hpp>
#include <pimint/cluster/cluster.hpp>
#include <pimint/core/error.hpp>
#include <pimint/recipe/recipe.hpp>
#include <pimint/recipe/step.hpp>
#include <string>
#include <string_view>

namespace {

// One directory for the whole run: recipes are read from files, and includes resolve
// relative to them.
const std::filesystem::path& work_dir() {
    static const std::filesystem::path dir = [] {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "pimint-fuzz-XXXXXX").string();
        if (mkdtemp(pattern.data()) == nullptr) {
            std::abort();
        }
        return std::filesystem::path(pattern);
    }();
    return dir;
}

// The CLI prints an error as one line; a message with a line break would break that
// promise (and scripts that read stderr line by line).
void check_one_line(const pimint::Error& e) {
    if (std::string_view(e.what()).find('\n') != std::string_view::npos) {
        std::abort();
    }
}

pimint::NodeContext sample_node() {
    pimint::NodeContext node;
    node.hostname = "worker007";
    node.index = 7;
    node.ip = "10.0.3.17";
    node.cluster = "cluster03";
    return node;
}

void as_template(const std::string& text) {
    try {
        const pimint::Template t(text, {"fuzz.toml", 1, 1});
        const std::string out = t.expand(sample_node());
        // Without placeholders, expansion only folds doubled braces: never longer.
        if (!t.has_placeholders() && out.size() > text.size()) {
            std::abort();
        }
    } catch (const pimint::Error& e) {
        check_one_line(e);
    }
}

void as_recipe(const std::filesystem::path& file) {
    try {
        const pimint::Recipe recipe = pimint::Recipe::load(file);
        pimint::NodeContext node = sample_node();
        for (const auto& step : recipe.steps()) {
            step->contribute(node);
            (void)step->touches(node, "/boot");
        }
        const auto split = recipe.split_for_nodes();
        if (split.shared.size() + split.own.size() != recipe.steps().size()) {
            std::abort();
        }
    } catch (const pimint::Error& e) {
        check_one_line(e);
    }
    try {
        const pimint::ClusterSpec spec = pimint::load_cluster_spec(file, {});
        (void)pimint::plan_cluster(spec);
    } catch (const pimint::Error& e) {
        check_one_line(e);
    }
}

void as_class_file(const std::filesystem::path& file) {
    try {
        (void)pimint::load_classroom(file);
    } catch (const pimint::Error& e) {
        check_one_line(e);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    as_template(text);

    const std::filesystem::path file = work_dir() / "recipe.toml";
    {
        std::ofstream out(file, std::ios::binary | std::ios::trunc);
        out << text;
    }
    as_recipe(file);
    as_class_file(file);
    return 0;
}
