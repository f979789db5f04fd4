// [ssh]: start sshd at boot, the two ways Raspberry Pi OS knows (the enabled unit, and
// the "ssh" flag file on the boot partition that sshswitch/raspi-config honour), and
// optionally turn password logins off.
#include "pimint/core/error.hpp"
#include "recipe/steps/builtin_steps.hpp"
#include "recipe/steps/support.hpp"

namespace pimint::steps {
namespace {

constexpr const char* wants_link = "/etc/systemd/system/multi-user.target.wants/ssh.service";
constexpr const char* alias_link = "/etc/systemd/system/sshd.service";
constexpr const char* dropin = "/etc/ssh/sshd_config.d/pimint.conf";

class SshStep final : public Step {
public:
    explicit SshStep(StepTable& t)
        : enable_(t.boolean("enable").value_or(true))
        , password_login_(t.boolean("password_login").value_or(true)) {}

    std::string_view name() const override { return "ssh"; }
    bool writes_own_files() const override { return true; }

    std::vector<std::string> touches(const NodeContext&, const std::string& boot) const override {
        return {boot + "/ssh", wants_link, alias_link,
                "/etc/ssh/sshd_config (or sshd_config.d/pimint.conf)"};
    }

    void apply(StepContext& ctx) const override {
        ImageFs& fs = ctx.fs;
        const std::string flag = ctx.layout.boot_mount + "/ssh";
        if (!enable_) {
            fs.remove(flag);
            fs.remove(wants_link);
            fs.remove(alias_link);
        } else {
            const std::string unit = unit_file(fs);
            fs.write(flag, "");
            fs.mkdir_p("/etc/systemd/system/multi-user.target.wants");
            fs.symlink(unit, wants_link);
            fs.symlink(unit, alias_link);
        }
        set_password_login(fs);
    }

private:
    static std::string unit_file(ImageFs& fs) {
        for (const char* unit :
             {"/lib/systemd/system/ssh.service", "/usr/lib/systemd/system/ssh.service"}) {
            if (fs.exists(unit)) {
                return unit;
            }
        }
        throw Error(ErrorCategory::image, "ssh.service",
                    "the image has no OpenSSH server to enable; use an image with openssh-server");
    }

    void set_password_login(ImageFs& fs) const {
        const std::vector<std::string> lines =
            password_login_ ? std::vector<std::string>{}
                            : std::vector<std::string>{"PasswordAuthentication no"};
        const std::string config = fs.read_if_exists("/etc/ssh/sshd_config").value_or("");
        // sshd keeps the first value it reads: newer images read sshd_config.d first,
        // older ones need the setting at the top of sshd_config.
        if (config.find("Include /etc/ssh/sshd_config.d/*.conf") != std::string::npos) {
            if (lines.empty()) {
                fs.remove(dropin);
            } else {
                fs.write(dropin, lines.front() + "\n");
            }
        } else if (!config.empty()) {
            fs.write("/etc/ssh/sshd_config", replace_marked_block(config, "ssh", lines, true));
        }
    }

    bool enable_;
    bool password_login_;
};

} // namespace

void register_ssh() {
    register_step("ssh", [](StepTable& t) { return std::make_unique<SshStep>(t); });
}

} // namespace pimint::steps
