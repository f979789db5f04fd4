// SSH keys made on the host with OpenSSH's ssh-keygen (no hand-written key formats).
// Private keys exist on the host only inside a 0700 directory removed straight after,
// and are never printed or logged.
#pragma once

#include <string>

namespace pimint {

struct SshKeyPair {
    std::string type;        // "ed25519", "rsa", "ecdsa"
    std::string private_key; // OpenSSH format
    std::string public_key;  // one line, with comment, no newline
    std::string fingerprint; // "ED25519 SHA256:..."
};

// Throws Error(build) with the package to install when ssh-keygen is missing.
void require_ssh_keygen();

// `type` is ed25519, rsa (`bits`, default 4096) or ecdsa (256 bits).
SshKeyPair generate_ssh_key(const std::string& type, const std::string& comment, int bits = 0);

} // namespace pimint
