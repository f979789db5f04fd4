#include "image/guestfs_handle.hpp"

#include "core/cache_dir.hpp"
#include "pimint/core/error.hpp"
#include "pimint/core/files.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string_view>
#include <sys/stat.h>
#include <sys/utsname.h>
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

// qemu's -name value for the launch named `tag`.
std::string launch_name_option(const std::string& tag) {
    return "guest=" + tag;
}

// The hypervisor this process started for the launch named `tag` (libguestfs's direct
// backend forks qemu as a child of the process that launches, and passes it the
// launch's `-name`), or 0 while there is none.
pid_t qemu_child_named(const std::string& tag) {
    const pid_t self = ::getpid();
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
        const std::string name = entry.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        std::ifstream stat(entry.path() / "stat");
        std::string line;
        std::getline(stat, line);
        // "pid (comm) state ppid ...": the command name may hold spaces, not ')'.
        const auto open = line.find('(');
        const auto close = line.rfind(')');
        if (open == std::string::npos || close == std::string::npos || close < open) {
            continue;
        }
        std::istringstream rest(line.substr(close + 1));
        std::string state;
        pid_t parent = 0;
        rest >> state >> parent;
        if (parent != self || !line.substr(open + 1, close - open - 1).starts_with("qemu-system")) {
            continue;
        }
        std::ifstream cmdline(entry.path() / "cmdline");
        const std::string args((std::istreambuf_iterator<char>(cmdline)),
                               std::istreambuf_iterator<char>());
        if (args.find(std::string(1, '\0') + launch_name_option(tag) + '\0') != std::string::npos) {
            return std::stoi(name);
        }
    }
    return 0;
}

// A KVM launch takes a few seconds. On some hosts /dev/kvm opens but the guest hangs
// after the firmware, and libguestfs would wait 20 minutes before giving up; this stops
// such a launch once qemu has run for `limit`, so that it is retried with TCG.
class KvmLaunchTimer {
public:
    // `tag`: the launch's name (make_handle), which tells its qemu from those of other
    // appliances the same process launches at the same time (a program using the
    // library may run several from threads of its own).
    KvmLaunchTimer(std::chrono::seconds limit, std::string tag)
        : tag_(std::move(tag))
        , thread_([this, limit] { run(limit); }) {}
    ~KvmLaunchTimer() {
        {
            const std::lock_guard lock(m_);
            done_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }
    KvmLaunchTimer(const KvmLaunchTimer&) = delete;
    KvmLaunchTimer& operator=(const KvmLaunchTimer&) = delete;

    bool fired() const { return fired_; }

private:
    void run(std::chrono::seconds limit) {
        std::unique_lock lock(m_);
        pid_t qemu = 0;
        std::chrono::steady_clock::time_point started;
        while (!cv_.wait_for(lock, std::chrono::milliseconds(500), [this] { return done_; })) {
            if (qemu == 0) {
                qemu = qemu_child_named(tag_);
                started = std::chrono::steady_clock::now();
            } else if (std::chrono::steady_clock::now() - started > limit) {
                fired_ = true;
                ::kill(qemu, SIGKILL);
                return;
            }
        }
    }

    std::string tag_;
    std::mutex m_;
    std::condition_variable cv_;
    bool done_ = false;
    std::atomic<bool> fired_{false};
    std::thread thread_; // last: starts once the members above exist
};

constexpr std::chrono::seconds kvm_launch_limit{30};

// libguestfs follows a launch error with lines of generic advice; a message keeps the
// error itself.
std::string first_line(const std::string& message) {
    return message.substr(0, message.find('\n'));
}

// Where a KVM launch that hung is remembered, so that later runs on this host go to TCG
// at once instead of waiting for the limit again. The note holds what could change the
// verdict: the host kernel and the hypervisor binary; another kernel or qemu tries KVM
// again.
std::filesystem::path kvm_hang_note() {
    return cache_dir() / "kvm-hung";
}

std::string kvm_host_fingerprint(guestfs_h* g) {
    struct utsname host {};
    ::uname(&host);
    const std::string hv = take_string(guestfs_get_hv(g));
    struct stat st {};
    ::stat(hv.c_str(), &st);
    return fmt::format("{} {} {} {} {}\n", host.release, host.version, hv, st.st_size,
                       st.st_mtim.tv_sec);
}

bool kvm_known_to_hang(guestfs_h* g) {
    std::ifstream note(kvm_hang_note());
    const std::string recorded((std::istreambuf_iterator<char>(note)),
                               std::istreambuf_iterator<char>());
    return !recorded.empty() && recorded == kvm_host_fingerprint(g);
}

void remember_kvm_hang(guestfs_h* g) {
    std::error_code ec;
    std::filesystem::create_directories(cache_dir(), ec);
    AtomicOutput note(kvm_hang_note());
    std::ofstream(note.temp_path()) << kvm_host_fingerprint(g);
    note.commit();
}

bool tcg_forced_by_environment() {
    const char* settings = std::getenv("LIBGUESTFS_BACKEND_SETTINGS");
    return settings != nullptr &&
           std::string_view(settings).find("force_tcg") != std::string_view::npos;
}

// A handle to launch, its qemu named `tag` (which libguestfs leaves to the caller).
std::unique_ptr<GuestfsHandle> make_handle(bool force_tcg,
                                           const std::function<void(GuestfsHandle&)>& add_drives,
                                           const std::string& tag) {
    auto h = std::make_unique<GuestfsHandle>();
    h->check(guestfs_config(h->get(), "-name", launch_name_option(tag).c_str()),
             "configuring the appliance");
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
    // Unique in this process, which may launch appliances from several threads at once.
    static std::atomic<unsigned> launches{0};
    const std::string tag = fmt::format("pimint-{}-{}", ::getpid(), ++launches);
    LaunchedHandle out;
    out.tcg = tcg_forced_by_environment() || !kvm_device_usable();
    const char* why_tcg = "tcg, no usable KVM";
    if (!out.tcg && kvm_known_to_hang(GuestfsHandle().get())) {
        out.tcg = true;
        why_tcg = "tcg: KVM hung on this host before";
    }
    say(fmt::format("starting the appliance ({})", out.tcg ? why_tcg : "kvm"));
    out.handle = make_handle(out.tcg, add_drives, tag);
    std::string first_error;
    if (out.tcg) {
        if (guestfs_launch(out.handle->get()) == 0) {
            return out;
        }
        throw Error(ErrorCategory::appliance, "libguestfs",
                    "the appliance did not start: " + first_line(out.handle->last_error()) +
                        " (run libguestfs-test-tool to diagnose)");
    }
    {
        const KvmLaunchTimer timer(kvm_launch_limit, tag);
        if (guestfs_launch(out.handle->get()) == 0) {
            return out;
        }
        first_error = first_line(out.handle->last_error());
        if (timer.fired()) {
            first_error = fmt::format("the appliance did not boot within {} s; later runs here "
                                      "use tcg at once (remembered in {})",
                                      kvm_launch_limit.count(), kvm_hang_note().string());
            remember_kvm_hang(out.handle->get());
        }
    }
    out.handle.reset();
    say(fmt::format("KVM failed ({}); starting the appliance again with tcg", first_error));
    out.tcg = true;
    out.handle = make_handle(true, add_drives, tag);
    if (guestfs_launch(out.handle->get()) == 0) {
        return out;
    }
    const std::string second_error = first_line(out.handle->last_error());
    out.handle.reset();
    throw Error(ErrorCategory::appliance, "libguestfs",
                "the appliance did not start with KVM (" + first_error + ") nor with TCG (" +
                    second_error + "); run libguestfs-test-tool to diagnose");
}

} // namespace pimint
