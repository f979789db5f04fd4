// RAII owner of a libguestfs handle. The default error handler (which prints to
// stderr) is turned off: failures are read with guestfs_last_error and thrown as
// pimint::Error.
#pragma once

#include <chrono>
#include <functional>
#include <guestfs.h>
#include <memory>
#include <string>
#include <string_view>
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

// A launched appliance and the accelerator it runs on.
struct LaunchedHandle {
    std::unique_ptr<GuestfsHandle> handle;
    bool tcg = false;
};

// Launches an appliance with KVM when /dev/kvm opens and TCG is not forced
// (LIBGUESTFS_BACKEND_SETTINGS=force_tcg), else with TCG; a /dev/kvm that opens may
// still fail inside qemu, or hang there, so a KVM launch that fails or has not booted
// within 30 s is retried with TCG. `add_drives` adds
// the drives to each handle tried; `say` hears which accelerator is used. Throws
// Error(appliance) with both launch errors.
LaunchedHandle launch_handle(const std::function<void(GuestfsHandle&)>& add_drives,
                             const std::function<void(std::string_view)>& say);

// Takes ownership of a string or string list returned by libguestfs.
std::string take_string(char* s);
std::vector<std::string> take_string_list(char** list);

} // namespace pimint
