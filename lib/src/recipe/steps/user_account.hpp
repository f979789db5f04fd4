// A login user made in an image that has none: Raspberry Pi OS has shipped without a
// default user since 2022 and makes the first one at first boot. pimint makes it before,
// as that set-up would, so the steps after [user] (MPICH's owner, the cluster's keys)
// find it.
#pragma once

#include "recipe/steps/support.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace pimint::steps {

// Creates user `name` with uid 1000 when free (else the next free one) and a group of
// its own: entries in passwd, group, shadow and gshadow (password login locked, last
// changed on `today`, days since 1970), the supplementary groups Raspberry Pi OS gives its
// first user where the image has them, a home made from /etc/skel, and passwordless sudo
// as Raspberry Pi OS's first user has (the password is locked). Raspberry Pi OS's
// first-user wizard (userconfig.service), which would ask for a user, is disabled.
Account create_account(ImageFs& fs, const std::string& name, std::int64_t today);

} // namespace pimint::steps
