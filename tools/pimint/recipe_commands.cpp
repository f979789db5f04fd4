// `pimint check` and `pimint apply`: validate a recipe, and make an image from it.
#include "command.hpp"
#include "status_display.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pimint/core/error.hpp>
#include <pimint/recipe/apply.hpp>
#include <pimint/recipe/recipe.hpp>

namespace po = boost::program_options;

namespace pimint::cli {
namespace {

std::string step_list(const Recipe& recipe) {
    std::string names;
    for (const auto& s : recipe.steps()) {
        names += (names.empty() ? "" : ", ") + std::string(s->name());
    }
    return names;
}

void add_set_option(po::options_description& desc, std::vector<std::string>& sets) {
    desc.add_options()(
        "set", po::value(&sets)->composing(),
        "override a recipe value: --set table.key=value (repeatable), e.g. --set wifi.country=FR");
}

} // namespace

int run_check(const std::vector<std::string>& args) {
    CommonOptions common;
    std::string recipe_path;
    std::vector<std::string> sets;
    po::options_description desc("Options");
    desc.add_options()("recipe", po::value(&recipe_path)->required(), "the recipe file (TOML)");
    add_set_option(desc, sets);
    add_common_options(desc, common);
    po::positional_options_description positional;
    positional.add("recipe", 1);
    if (!parse_command_line(
            "check",
            "RECIPE [--set table.key=value ...]\n\nValidates a recipe (syntax, keys, "
            "types and values) without opening an image.",
            desc, positional, args, common)) {
        return 0;
    }
    const Recipe recipe = Recipe::load(recipe_path, sets);
    if (!common.quiet) {
        fmt::print("{}: ok ({} steps: {})\n", recipe_path, recipe.steps().size(),
                   step_list(recipe));
    }
    return 0;
}

int run_apply(const std::vector<std::string>& args) {
    CommonOptions common;
    std::string recipe_path;
    std::string base;
    std::string out;
    std::vector<std::string> sets;
    bool dry_run = false;
    bool json = false;
    po::options_description desc("Options");
    desc.add_options()                                                            //
        ("recipe", po::value(&recipe_path)->required(), "the recipe file (TOML)") //
        ("base,b", po::value(&base)->required(),
         "the Raspberry Pi OS image to start from (only read)")                              //
        ("output,o", po::value(&out), "the image file to write (required unless --dry-run)") //
        ("dry-run,n", po::bool_switch(&dry_run),
         "print each step and the files it writes; open no image") //
        ("json", po::bool_switch(&json), "print the result as one JSON object");
    add_set_option(desc, sets);
    add_common_options(desc, common);
    po::positional_options_description positional;
    positional.add("recipe", 1);
    if (!parse_command_line(
            "apply",
            "RECIPE --base IMAGE -o OUTPUT [--set table.key=value ...] [--dry-run]\n\n"
            "Writes OUTPUT: a copy of IMAGE with every step of RECIPE applied, in one "
            "appliance session. OUTPUT appears only when complete.",
            desc, positional, args, common)) {
        return 0;
    }
    const Recipe recipe = Recipe::load(recipe_path, sets);
    if (dry_run) {
        fmt::print("{}", describe_plan(recipe, NodeContext{}));
        return 0;
    }
    if (out.empty()) {
        throw Error(ErrorCategory::usage, "pimint apply",
                    "give the output image with -o OUTPUT (or use --dry-run)");
    }
    StatusDisplay status(common.verbose, common.quiet);
    ApplyOptions options;
    options.status = status.callback();
    const ApplyReport report = apply(recipe, base, out, options);
    status.clear();
    if (json) {
        nlohmann::json j = {{"output", out},
                            {"base", base},
                            {"steps", report.steps},
                            {"backend", report.backend},
                            {"launch_seconds", report.launch_seconds},
                            {"total_seconds", report.total_seconds},
                            {"grown_bytes", report.grown_bytes}};
        fmt::print("{}\n", j.dump(2));
    } else if (!common.quiet) {
        fmt::print("{}: written ({} steps: {}) in {:.1f} s, of which {:.1f} s starting the "
                   "appliance ({})\n",
                   out, report.steps.size(), step_list(recipe), report.total_seconds,
                   report.launch_seconds, report.backend);
    }
    return 0;
}

} // namespace pimint::cli
