// A call into the appliance that never answers (qemu under TCG now and then stalls
// inside the guest) must not hang pimint: the watchdog stops the appliance once a call
// has gone the limit without any sign of life, and the call fails saying why.
#include "image/guestfs_handle.hpp"

#include <chrono>
#include <doctest/doctest.h>

using namespace pimint;

TEST_CASE("a call that outlives the limit fails with the watchdog's message") {
    // Launched as pimint launches (KVM where it works, else TCG).
    LaunchedHandle launched = launch_handle(
        [](GuestfsHandle& g) {
            g.check(guestfs_add_drive_opts(g.get(), "/dev/null", GUESTFS_ADD_DRIVE_OPTS_READONLY, 1,
                                           GUESTFS_ADD_DRIVE_OPTS_FORMAT, "raw", -1),
                    "/dev/null");
        },
        [](std::string_view) {});
    GuestfsHandle& h = *launched.handle;
    h.watch(std::chrono::seconds(5));

    // A short call well within the limit is untouched.
    CHECK(guestfs_sleep(h.get(), 1) == 0);

    // guestfs_sleep stands in for a stalled call: the daemon gives no sign for 10 minutes.
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(guestfs_sleep(h.get(), 600) == -1);
    const auto waited = std::chrono::steady_clock::now() - t0;
    CHECK(waited < std::chrono::seconds(60));
    CHECK(h.last_error().find("did not answer for 5 s") != std::string::npos);
}
