// RAII owner of a libguestfs handle. The default error handler (which prints to
// stderr) is turned off: failures are read with guestfs_last_error and thrown as
// pimint::Error.
#pragma once

#include <chrono>
#include <guestfs.h>
#include <memory>
#include <string>
#include <vector>

namespace pimint {

class GuestfsHandle {
public:
    GuestfsHandle();
    ~GuestfsHandle();
    GuestfsHandle(const GuestfsHandle&) = delete;
    GuestfsHandle& operator=(const GuestfsHandle&) = delete;

    guestfs_h* get() const noexcept { return g_; }
    std::string last_error() const;
    int last_errno() const;
    // Throws Error(appliance) with `what` and the last libguestfs error when rc == -1.
    void check(int rc, const std::string& what) const;
    // Syncs and stops the appliance; throws on failure.
    void shutdown();

    // Once launched: stops the appliance when one call has gone `limit` without an
    // answer, so the call fails instead of waiting forever (qemu under TCG now and then
    // stalls inside the guest). The failed call's error then says so.
    void watch(std::chrono::seconds limit);

private:
    struct Watchdog;
    guestfs_h* g_;
    std::unique_ptr<Watchdog> watchdog_;
};

// The per-call limit for GuestfsHandle::watch: $PIMINT_APPLIANCE_TIMEOUT seconds, else
// 600 (ten times the slowest call measured under TCG).
std::chrono::seconds appliance_call_limit();

// Takes ownership of a string or string list returned by libguestfs.
std::string take_string(char* s);
std::vector<std::string> take_string_list(char** list);

} // namespace pimint
