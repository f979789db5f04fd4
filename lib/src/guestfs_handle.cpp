#include "guestfs_handle.hpp"

#include "pimint/error.hpp"

#include <cstdlib>
#include <vector>

namespace pimint {

GuestfsHandle::GuestfsHandle()
    : g_(guestfs_create()) {
    if (g_ == nullptr) {
        throw Error(ErrorCategory::appliance, "libguestfs",
                    "cannot create a handle (is libguestfs installed? run tools/setup)");
    }
    guestfs_set_error_handler(g_, nullptr, nullptr);
}

GuestfsHandle::~GuestfsHandle() {
    if (g_ != nullptr) {
        guestfs_close(g_);
    }
}

std::string GuestfsHandle::last_error() const {
    const char* e = guestfs_last_error(g_);
    return e != nullptr ? e : "unknown libguestfs error";
}

int GuestfsHandle::last_errno() const {
    return guestfs_last_errno(g_);
}

void GuestfsHandle::check(int rc, const std::string& what) const {
    if (rc == -1) {
        throw Error(ErrorCategory::appliance, what, last_error());
    }
}

void GuestfsHandle::shutdown() {
    check(guestfs_shutdown(g_), "stopping the appliance");
}

std::string take_string(char* s) {
    std::string out = s != nullptr ? s : "";
    std::free(s);
    return out;
}

std::vector<std::string> take_string_list(char** list) {
    std::vector<std::string> out;
    if (list == nullptr) {
        return out;
    }
    for (char** p = list; *p != nullptr; ++p) {
        out.emplace_back(*p);
        std::free(*p);
    }
    std::free(list);
    return out;
}

} // namespace pimint
