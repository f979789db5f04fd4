// A CLI subcommand: its name, a one-line summary for `pimint --help`, and the function
// that parses its own arguments and runs it.
#pragma once

#include <boost/program_options.hpp>
#include <string>
#include <vector>

namespace pimint::cli {

struct Command {
    const char* name;
    const char* summary;
    int (*run)(const std::vector<std::string>& args);
};

// Options every command accepts.
struct CommonOptions {
    bool help = false;
    bool verbose = false;
    bool quiet = false;
};
void add_common_options(boost::program_options::options_description& desc, CommonOptions& common);

// Parses `args` against `desc` and `positional`; throws boost::program_options::error
// on misuse. Returns false (after printing help) when --help was given.
bool parse_command_line(const char* command, const char* usage,
                        const boost::program_options::options_description& desc,
                        const boost::program_options::positional_options_description& positional,
                        const std::vector<std::string>& args, CommonOptions& common);

int run_inspect(const std::vector<std::string>& args);
int run_check(const std::vector<std::string>& args);
int run_apply(const std::vector<std::string>& args);
int run_cluster(const std::vector<std::string>& args);
int run_classroom(const std::vector<std::string>& args);
int run_publish(const std::vector<std::string>& args);
int run_burn(const std::vector<std::string>& args);
int run_materialize(const std::vector<std::string>& args);

} // namespace pimint::cli
