// Helpers the built-in steps share: marked blocks in text files, systemd units,
// and users and groups looked up in the image's own files.
#pragma once

#include "pimint/recipe/step.hpp"

#include <optional>
#include <string>
#include <vector>

namespace pimint::steps {

inline constexpr const char* unit_dir = "/etc/systemd/system";

// Replaces the block between "# BEGIN pimint <tag>" and "# END pimint <tag>" (or appends
// one) with `lines`; an empty `lines` removes the block. Reapplying gives the same text.
std::string replace_marked_block(const std::string& content, const std::string& tag,
                                 const std::vector<std::string>& lines,
                                 bool new_block_first = false);

// Sets KEY=value (shell assignment syntax, value double-quoted when `quote`), replacing
// the first existing assignment of KEY or appending one.
std::string set_assignment(const std::string& content, const std::string& key,
                           const std::string& value, bool quote);

// Writes `unit` into /etc/systemd/system and enables it for multi-user.target.
void install_enabled_unit(ImageFs& fs, const std::string& name, const std::string& unit);

// Installs and enables service `name` that runs `script_body` once at first boot, before
// logins are allowed, logging to the journal; when it succeeds it deletes its script and
// disables itself.
void install_first_boot_service(ImageFs& fs, const std::string& name,
                                const std::string& description, const std::string& script_body);

struct Account {
    std::string name;
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::string home;
};

// Looks `name` up in the image's /etc/passwd; an empty name means the default user
// (uid 1000). nullopt when absent.
std::optional<Account> lookup_account(ImageFs& fs, const std::string& name);
// The same, but throws Error(image) when absent.
Account find_account(ImageFs& fs, const std::string& name);
// Resolves "user:group", "user", or numeric ids against the image's passwd and group.
std::pair<std::uint32_t, std::uint32_t> resolve_owner(ImageFs& fs, const std::string& owner);

// True when the image's network is run by NetworkManager (installed, and enabled or the
// only choice) rather than dhcpcd or wpa_supplicant alone.
bool network_manager_active(ImageFs& fs);

// Ensures `text` ends with a newline (unless empty).
std::string with_newline(std::string text);

// Throws Error(recipe) at the step's location when `message` is not empty.
void check_value(const std::string& message, const std::string& step, const std::string& where);

} // namespace pimint::steps
