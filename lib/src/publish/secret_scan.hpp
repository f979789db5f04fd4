// What must not be in an image offered for download: a user's private SSH key (anyone
// who downloads the master image could log in to every node of every cluster made with
// it) and an account whose password is a published default (pi / raspberry).
#pragma once

#include "pimint/image/image_fs.hpp"

#include <string>
#include <vector>

namespace pimint {

// One line per finding, naming the file in the image: "/home/pi/.ssh/id_rsa: a private
// SSH key". Reads the users' ~/.ssh directories (from /etc/passwd) and /etc/shadow.
std::vector<std::string> find_secrets(ImageFs& fs);

} // namespace pimint
