#include "command.hpp"

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <iostream>

namespace po = boost::program_options;

namespace pimint::cli {

void add_common_options(po::options_description& desc, CommonOptions& common) {
    desc.add_options()                                                       //
        ("help,h", po::bool_switch(&common.help), "show this help and exit") //
        ("verbose,v", po::bool_switch(&common.verbose),
         "print each stage and the appliance backend") //
        ("quiet,q", po::bool_switch(&common.quiet), "print nothing but results and errors");
}

bool parse_command_line(const char* command, const char* usage, const po::options_description& desc,
                        const po::positional_options_description& positional,
                        const std::vector<std::string>& args, CommonOptions& common) {
    po::variables_map vm;
    po::store(po::command_line_parser(args).options(desc).positional(positional).run(), vm);
    if (vm.count("help") != 0 && vm["help"].as<bool>()) {
        fmt::print("Usage: pimint {} {}\n\n", command, usage);
        std::cout << desc << std::endl;
        common.help = true;
        return false;
    }
    po::notify(vm);
    return true;
}

} // namespace pimint::cli
