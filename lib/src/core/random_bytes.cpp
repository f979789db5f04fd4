#include "core/random_bytes.hpp"

#include "pimint/core/error.hpp"

#include <cerrno>
#include <cstring>
#include <sys/random.h>

namespace pimint {

std::string random_bytes(std::size_t n) {
    std::string out(n, '\0');
    std::size_t done = 0;
    while (done < n) {
        const ssize_t got = ::getrandom(out.data() + done, n - done, 0);
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw Error(ErrorCategory::internal, "getrandom", "no randomness available");
        }
        done += static_cast<std::size_t>(got);
    }
    return out;
}

std::uint32_t random_u32() {
    const std::string bytes = random_bytes(sizeof(std::uint32_t));
    std::uint32_t v = 0;
    std::memcpy(&v, bytes.data(), sizeof v);
    return v;
}

} // namespace pimint
