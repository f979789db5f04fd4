// A program outside pimint: the whole API through pimint/pimint.hpp, or one part's
// header at a time (pimint/core/..., pimint/image/..., as the library's folders are).
//   consumer                    prints the version
//   consumer IMAGE              reads IMAGE's partition table (errors as the CLI prints them)
//   consumer burn IMAGE TARGET  writes IMAGE to TARGET and prints the verified SHA-256
//   consumer layout NAME        parses a cluster layout name and prints it back
#include <iostream>
#include <pimint/cards/burn.hpp>
#include <pimint/cluster/cluster.hpp>
#include <pimint/core/error.hpp>
#include <pimint/core/version.hpp>
#include <pimint/image/partition_table.hpp>
#include <pimint/pimint.hpp>
#include <string>

int main(int argc, char** argv) {
    std::cout << "pimint " << pimint::version() << "\n";
    if (argc < 2) {
        return 0;
    }
    try {
        if (argc == 4 && std::string(argv[1]) == "burn") {
            const auto result =
                pimint::burn_card(pimint::burn_source(argv[2], ""), pimint::probe_target(argv[3]));
            std::cout << result.sha256 << "\n";
            return 0;
        }
        if (argc == 3 && std::string(argv[1]) == "layout") {
            const auto layout = pimint::parse_image_layout(argv[2]);
            std::cout << (layout == pimint::ImageLayout::overlay ? "overlay" : "full") << "\n";
            return 0;
        }
        pimint::read_partition_table(argv[1]);
    } catch (const pimint::Error& e) {
        std::cout << pimint::category_name(e.category()) << ": " << e.what() << "\n";
        return pimint::exit_code(e.category());
    }
    return 0;
}
