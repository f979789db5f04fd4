// [user]: the login user's password (stored as a yescrypt hash where the image's
// libcrypt reads them, else SHA-512 crypt), SSH authorized_keys, and lines for ~/.bashrc
// kept in one marked block. The user and its ids come from the image's own /etc/passwd;
// an image without it (Raspberry Pi OS has had no default user since bookworm) gets it
// created: pi when no name is given.
#include "core/text.hpp"
#include "core/validate.hpp"
#include "pimint/core/error.hpp"
#include "pimint/core/files.hpp"
#include "recipe/steps/builtin_steps.hpp"
#include "recipe/steps/support.hpp"
#include "recipe/steps/user_account.hpp"

#include <crypt.h>
#include <ctime>
#include <fmt/format.h>
#include <memory>

namespace pimint::steps {
namespace {

std::string crypt_hash(const std::string& password, const char* setting) {
    auto data = std::make_unique<crypt_data>();
    const char* hash = crypt_rn(password.c_str(), setting, data.get(), sizeof(crypt_data));
    if (hash == nullptr) {
        throw Error(ErrorCategory::internal, "crypt", "hashing the password failed");
    }
    return hash;
}

// The strongest scheme the image's own libcrypt checks: yescrypt with libxcrypt's
// libcrypt1 (Debian bullseye and later, so Raspberry Pi OS bookworm and trixie), which
// Debian itself uses for new passwords; SHA-512 crypt with glibc's older libcrypt.
std::string hash_prefix(ImageFs& fs) {
    const std::string status = fs.read_if_exists("/var/lib/dpkg/status").value_or("");
    return status.find("\nPackage: libcrypt1\n") != std::string::npos ||
                   status.starts_with("Package: libcrypt1\n")
               ? "$y$"
               : "$6$";
}

// A random salt; with SOURCE_DATE_EPOCH set, one derived from the build's inputs (its
// date, the node and the user, never the password) so that rebuilds give the same
// shadow file. A salt needs to be unique, not secret.
std::string new_hash(const std::string& password, const std::string& prefix, const StepContext& ctx,
                     const std::string& user) {
    std::string input;
    if (ctx.source_date) {
        const std::string digest = sha256_text(fmt::format(
            "pimint password salt\n{}\n{}\n{}\n", *ctx.source_date, ctx.node.hostname, user));
        for (size_t i = 0; i < 32; i += 2) {
            input.push_back(static_cast<char>(std::stoi(digest.substr(i, 2), nullptr, 16)));
        }
    }
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    if (crypt_gensalt_rn(prefix.c_str(), 0, input.empty() ? nullptr : input.data(),
                         static_cast<int>(input.size()), setting, sizeof setting) == nullptr) {
        throw Error(ErrorCategory::internal, "crypt", "cannot make a password salt");
    }
    return crypt_hash(password, setting);
}

class UserStep final : public Step {
public:
    explicit UserStep(StepTable& t)
        : where_(t.location("")) {
        if (auto name = t.string("name")) {
            user_ = name->text();
        }
        if (auto p = t.string("password")) {
            password_ = p->text();
            if (password_->empty()) {
                t.fail("password",
                       "an empty password is not allowed; leave the key out to keep the image's");
            }
        }
        if (auto h = t.string("password_hash")) {
            if (password_) {
                t.fail("password_hash", "give password or password_hash, not both");
            }
            hash_ = h->text();
            if (!hash_.starts_with("$6$") && !hash_.starts_with("$y$") &&
                !hash_.starts_with("$5$")) {
                t.fail("password_hash",
                       "expected a crypt hash such as the output of 'openssl passwd -6'");
            }
        }
        if (auto keys = t.strings("authorized_keys")) {
            for (const auto& k : *keys) {
                const std::string key(text::trim(k.text()));
                check_value(validate::ssh_public_key(key), "user.authorized_keys",
                            t.location("authorized_keys").str());
                keys_.push_back(key);
            }
        }
        if (auto lines = t.strings("bashrc")) {
            bashrc_ = std::move(*lines);
        }
    }

    std::string_view name() const override { return "user"; }
    bool writes_own_files() const override { return true; }

    std::vector<std::string> touches(const NodeContext&, const std::string&) const override {
        const std::string home = user_.empty() ? "~" : "~" + user_;
        return {"/etc/passwd, /etc/group, /etc/shadow, /etc/gshadow (the user, created if the "
                "image lacks it)",
                home + "/.ssh/authorized_keys", home + "/.bashrc"};
    }

    void apply(StepContext& ctx) const override {
        const auto found = lookup_account(ctx.fs, user_);
        const std::int64_t now = ctx.source_date.value_or(std::time(nullptr));
        const Account account =
            found ? *found : create_account(ctx.fs, user_.empty() ? "pi" : user_, now / 86400);
        if (password_ || !hash_.empty()) {
            set_password(ctx, account);
        }
        if (!keys_.empty()) {
            add_keys(ctx.fs, account);
        }
        if (!bashrc_.empty()) {
            std::vector<std::string> lines;
            for (const auto& l : bashrc_) {
                lines.push_back(l.expand(ctx.node));
            }
            const std::string path = account.home + "/.bashrc";
            const bool existed = ctx.fs.exists(path);
            // At the top: Debian's .bashrc returns early for non-interactive shells, and the
            // shells MPI's ssh launches start are non-interactive but must see the PATH.
            ctx.fs.write(path, replace_marked_block(ctx.fs.read_if_exists(path).value_or(""),
                                                    "bashrc", lines, true));
            if (!existed) {
                ctx.fs.chown(path, account.uid, account.gid);
            }
        }
    }

private:
    void set_password(const StepContext& ctx, const Account& account) const {
        ImageFs& fs = ctx.fs;
        std::string shadow;
        bool found = false;
        const std::string current_shadow = fs.read("/etc/shadow");
        const std::string prefix = password_ ? hash_prefix(fs) : std::string();
        for (auto line : text::split_lines(current_shadow)) {
            const auto colon = line.find(':');
            const auto second = line.find(':', colon + 1);
            if (colon != std::string_view::npos && line.substr(0, colon) == account.name &&
                second != std::string_view::npos) {
                const std::string current(line.substr(colon + 1, second - colon - 1));
                std::string hash = hash_;
                if (password_) {
                    // Keep a hash that already matches, so reapplying changes nothing.
                    const bool matches = current.starts_with(prefix) &&
                                         crypt_hash(*password_, current.c_str()) == current;
                    hash = matches ? current : new_hash(*password_, prefix, ctx, account.name);
                }
                shadow += fmt::format("{}:{}{}\n", account.name, hash, line.substr(second));
                found = true;
            } else {
                shadow += std::string(line) + "\n";
            }
        }
        if (!found) {
            throw Error(ErrorCategory::image, "/etc/shadow",
                        fmt::format("no entry for user '{}'", account.name));
        }
        fs.write("/etc/shadow", shadow);
    }

    void add_keys(ImageFs& fs, const Account& account) const {
        const std::string dir = account.home + "/.ssh";
        const std::string file = dir + "/authorized_keys";
        fs.mkdir_p(dir);
        fs.chmod(dir, 0700);
        fs.chown(dir, account.uid, account.gid);
        std::string content = with_newline(fs.read_if_exists(file).value_or(""));
        for (const auto& key : keys_) {
            bool present = false;
            for (auto line : text::split_lines(content)) {
                present = present || text::trim(line) == key;
            }
            if (!present) {
                content += key + "\n";
            }
        }
        fs.write(file, content);
        fs.chmod(file, 0600);
        fs.chown(file, account.uid, account.gid);
    }

    SourceLocation where_;
    std::string user_;
    std::optional<std::string> password_;
    std::string hash_;
    std::vector<std::string> keys_;
    std::vector<Template> bashrc_;
};

} // namespace

void register_user() {
    register_step("user", [](StepTable& t) { return std::make_unique<UserStep>(t); });
}

} // namespace pimint::steps
