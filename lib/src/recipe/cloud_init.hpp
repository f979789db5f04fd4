// Raspberry Pi OS trixie runs cloud-init at first boot, reading a NoCloud seed from the
// boot partition. Left alone it would undo what pimint wrote: rename the host, replace
// the network with DHCP, regenerate the host keys the master's known_hosts lists, make
// another user. pimint makes it agree instead (docs/recipes.md, "cloud-init").
#pragma once

#include "pimint/image/appliance.hpp"
#include "pimint/recipe/step.hpp"

#include <string>

namespace pimint {

// Whether the mounted image runs cloud-init at boot (found from its files).
bool runs_cloud_init(ImageFs& fs);

// The instance-id a node's seed gets: its own for every node of every cluster.
std::string cloud_init_instance_id(const NodeContext& node);

// On an image that runs cloud-init: system configuration that keeps the host name, the
// network, the users and the SSH host keys as the image has them (it outranks the seed's
// network-config), and a seed of the node's own in the boot partition (instance-id,
// local-hostname), with the instance named the same on the kernel command line where
// Raspberry Pi Imager put one there. Does nothing on other images.
void agree_with_cloud_init(ImageFs& fs, const Layout& layout, const NodeContext& node);

} // namespace pimint
