#include "guestfs_handle.hpp"

#include "pimint/error.hpp"

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fmt/format.h>
#include <mutex>
#include <string_view>
#include <thread>
#include <unistd.h>
#include <vector>

namespace pimint {

// Follows calls through libguestfs's trace events ("name args" when a call starts,
// "name = result" when it returns) and its progress events, and kills the appliance's
// qemu when a call has been outstanding with no event for longer than the limit.
struct GuestfsHandle::Watchdog {
    std::chrono::seconds limit;
    pid_t qemu = 0;
    std::atomic<int> depth{0};
    std::atomic<std::int64_t> last_event_ns{0};
    std::atomic<bool> fired{false};
    std::mutex m;
    std::condition_variable cv;
    bool stopping = false;
    std::thread thread;

    static std::int64_t now_ns() {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::steady_clock::now().time_since_epoch())
            .count();
    }

    static void on_event(guestfs_h*, void* opaque, std::uint64_t event, int, int, const char* buf,
                         size_t len, const std::uint64_t*, size_t) {
        auto* w = static_cast<Watchdog*>(opaque);
        w->last_event_ns = now_ns();
        if (event != GUESTFS_EVENT_TRACE || buf == nullptr) {
            return;
        }
        const std::string_view message(buf, len);
        const auto space = message.find(' ');
        const bool returned = space != std::string_view::npos && message.substr(space, 3) == " = ";
        w->depth += returned ? -1 : 1;
    }

    void run() {
        std::unique_lock lock(m);
        while (!cv.wait_for(lock, std::chrono::seconds(2), [this] { return stopping; })) {
            const auto idle = std::chrono::nanoseconds(now_ns() - last_event_ns.load());
            if (depth.load() > 0 && idle > limit && !fired.exchange(true)) {
                ::kill(qemu, SIGKILL);
            }
        }
    }
};

std::chrono::seconds appliance_call_limit() {
    if (const char* v = std::getenv("PIMINT_APPLIANCE_TIMEOUT"); v != nullptr && *v) {
        const long seconds = std::strtol(v, nullptr, 10);
        if (seconds > 0) {
            return std::chrono::seconds(seconds);
        }
    }
    return std::chrono::seconds(600);
}

void GuestfsHandle::watch(std::chrono::seconds limit) {
    auto w = std::make_unique<Watchdog>();
    w->limit = limit;
    w->qemu = guestfs_get_pid(g_);
    if (w->qemu <= 0) {
        return; // no process of our own to stop (another backend)
    }
    w->last_event_ns = Watchdog::now_ns();
    if (guestfs_set_event_callback(g_, &Watchdog::on_event,
                                   GUESTFS_EVENT_TRACE | GUESTFS_EVENT_PROGRESS, 0,
                                   w.get()) == -1) {
        return;
    }
    // With a callback registered, trace messages go to it, not to stderr.
    guestfs_set_trace(g_, 1);
    w->thread = std::thread([p = w.get()] { p->run(); });
    watchdog_ = std::move(w);
}

GuestfsHandle::GuestfsHandle()
    : g_(guestfs_create()) {
    if (g_ == nullptr) {
        throw Error(ErrorCategory::appliance, "libguestfs",
                    "cannot create a handle (is libguestfs installed? run tools/setup)");
    }
    guestfs_set_error_handler(g_, nullptr, nullptr);
}

GuestfsHandle::~GuestfsHandle() {
    if (watchdog_) {
        {
            const std::lock_guard lock(watchdog_->m);
            watchdog_->stopping = true;
        }
        watchdog_->cv.notify_all();
        watchdog_->thread.join();
    }
    if (g_ != nullptr) {
        guestfs_close(g_);
    }
}

std::string GuestfsHandle::last_error() const {
    if (watchdog_ && watchdog_->fired) {
        return fmt::format("the appliance did not answer for {} s and was stopped (emulated "
                           "qemu stalls now and then); run the command again",
                           watchdog_->limit.count());
    }
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

namespace pimint {
namespace {

bool kvm_device_usable() {
    const int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    ::close(fd);
    return true;
}

bool tcg_forced_by_environment() {
    const char* settings = std::getenv("LIBGUESTFS_BACKEND_SETTINGS");
    return settings != nullptr &&
           std::string_view(settings).find("force_tcg") != std::string_view::npos;
}

std::unique_ptr<GuestfsHandle> make_handle(bool force_tcg,
                                           const std::function<void(GuestfsHandle&)>& add_drives) {
    auto h = std::make_unique<GuestfsHandle>();
    if (force_tcg) {
        char force_tcg_setting[] = "force_tcg";
        char* settings[] = {force_tcg_setting, nullptr};
        h->check(guestfs_set_backend_settings(h->get(), settings), "configuring the appliance");
    }
    add_drives(*h);
    return h;
}

} // namespace

LaunchedHandle launch_handle(const std::function<void(GuestfsHandle&)>& add_drives,
                             const std::function<void(std::string_view)>& say) {
    LaunchedHandle out;
    out.tcg = tcg_forced_by_environment() || !kvm_device_usable();
    say(fmt::format("starting the appliance ({})", out.tcg ? "tcg, no usable KVM" : "kvm"));
    out.handle = make_handle(out.tcg, add_drives);
    if (guestfs_launch(out.handle->get()) == 0) {
        return out;
    }
    const std::string first_error = out.handle->last_error();
    out.handle.reset();
    if (out.tcg) {
        throw Error(ErrorCategory::appliance, "libguestfs",
                    "the appliance did not start: " + first_error +
                        " (run libguestfs-test-tool to diagnose)");
    }
    say("KVM failed; starting the appliance again with tcg");
    out.tcg = true;
    out.handle = make_handle(true, add_drives);
    if (guestfs_launch(out.handle->get()) == 0) {
        return out;
    }
    const std::string second_error = out.handle->last_error();
    out.handle.reset();
    throw Error(ErrorCategory::appliance, "libguestfs",
                "the appliance did not start with KVM (" + first_error + ") nor with TCG (" +
                    second_error + "); run libguestfs-test-tool to diagnose");
}

} // namespace pimint
