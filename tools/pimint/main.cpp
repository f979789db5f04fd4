// The pimint command line: a thin client of libpimint. It dispatches to a subcommand
// and turns every failure into one line on stderr and the exit code of its category.
#include "command.hpp"

#include <array>
#include <fmt/format.h>
#include <pimint/core/error.hpp>
#include <pimint/core/interrupt.hpp>
#include <pimint/core/version.hpp>
#include <string_view>

namespace {

using pimint::cli::Command;

constexpr std::array commands{
    Command{"apply", "make an image from a base image and a recipe", pimint::cli::run_apply},
    Command{"burn", "write images to cards or files and verify them; a burn station for a class",
            pimint::cli::run_burn},
    Command{"check", "validate a recipe without opening an image", pimint::cli::run_check},
    Command{"classroom", "make a whole class of clusters, resumable and shardable",
            pimint::cli::run_classroom},
    Command{"cluster", "make master and worker images for an MPI cluster",
            pimint::cli::run_cluster},
    Command{"inspect", "show what an image is and how it is configured", pimint::cli::run_inspect},
    Command{"materialize", "write the full image of an overlay cluster's node",
            pimint::cli::run_materialize},
    Command{"publish", "compress images for download, with bmap files and an Imager list",
            pimint::cli::run_publish},
};

void print_main_help() {
    fmt::print("Usage: pimint [--help] [--version] COMMAND [ARGS]\n\n"
               "Turns one Raspberry Pi OS image into ready-to-burn images, offline.\n\n"
               "Commands:\n");
    for (const auto& c : commands) {
        fmt::print("  {:<12}{}\n", c.name, c.summary);
    }
    fmt::print(
        "\nRun 'pimint COMMAND --help' for a command's options.\n"
        "Exit codes: 0 ok, 2 usage, 3 recipe, 4 image, 5 host file I/O, 6 appliance, 7 build, "
        "8 secret, 9 target, 70 internal, 130 interrupted.\n");
}

int dispatch(int argc, char** argv) {
    if (argc < 2) {
        print_main_help();
        return pimint::exit_code(pimint::ErrorCategory::usage);
    }
    const std::string_view first = argv[1];
    if (first == "--help" || first == "-h" || first == "help") {
        if (first == "help" && argc > 2) {
            std::vector<std::string> args{"--help"};
            for (const auto& c : commands) {
                if (argv[2] == std::string_view(c.name)) {
                    return c.run(args);
                }
            }
        }
        print_main_help();
        return 0;
    }
    if (first == "--version" || first == "-V") {
        fmt::print("pimint {}\n", pimint::version());
        return 0;
    }
    for (const auto& c : commands) {
        if (first == c.name) {
            return c.run(std::vector<std::string>(argv + 2, argv + argc));
        }
    }
    throw pimint::Error(
        pimint::ErrorCategory::usage, "pimint",
        fmt::format("unknown command '{}'; run 'pimint --help' for the list", first));
}

} // namespace

int main(int argc, char** argv) {
    pimint::install_interrupt_handlers();
    try {
        return dispatch(argc, argv);
    } catch (const pimint::Error& e) {
        if (pimint::interrupt_requested()) {
            // Whatever failed first (the appliance or make got the signal too), the cause is the
            // signal.
            fmt::print(stderr,
                       "pimint: interrupted; temporary files removed, finished outputs kept\n");
            return pimint::exit_code(pimint::ErrorCategory::interrupted);
        }
        fmt::print(stderr, "pimint: {}\n", e.what());
        return pimint::exit_code(e.category());
    } catch (const boost::program_options::error& e) {
        fmt::print(stderr, "pimint: {} (see 'pimint {} --help')\n", e.what(),
                   argc > 1 ? argv[1] : "");
        return pimint::exit_code(pimint::ErrorCategory::usage);
    } catch (const std::exception& e) {
        fmt::print(stderr, "pimint: internal error: {}\n", e.what());
        return pimint::exit_code(pimint::ErrorCategory::internal);
    }
}
