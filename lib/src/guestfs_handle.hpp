// RAII owner of a libguestfs handle. The default error handler (which prints to
// stderr) is turned off: failures are read with guestfs_last_error and thrown as
// pimint::Error.
#pragma once

#include <guestfs.h>
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

private:
    guestfs_h* g_;
};

// Takes ownership of a string or string list returned by libguestfs.
std::string take_string(char* s);
std::vector<std::string> take_string_list(char** list);

} // namespace pimint
