// A program outside pimint: the whole API through pimint/pimint.hpp, or one part's
// header at a time (pimint/core/..., pimint/image/..., as the library's folders are).
#include <iostream>
#include <pimint/core/error.hpp>
#include <pimint/core/version.hpp>
#include <pimint/image/partition_table.hpp>
#include <pimint/pimint.hpp>

int main(int argc, char** argv) {
    std::cout << "pimint " << pimint::version() << "\n";
    if (argc < 2) {
        return 0;
    }
    try {
        pimint::read_partition_table(argv[1]);
    } catch (const pimint::Error& e) {
        std::cout << pimint::category_name(e.category()) << ": " << e.what() << "\n";
        return pimint::exit_code(e.category());
    }
    return 0;
}
