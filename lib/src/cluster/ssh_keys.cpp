#include "cluster/ssh_keys.hpp"

#include "core/remove_on_exit.hpp"
#include "core/subprocess.hpp"
#include "core/text_file.hpp"
#include "pimint/core/error.hpp"

#include <cstdlib>
#include <fmt/format.h>

namespace pimint {
namespace {} // namespace

void require_ssh_keygen() {
    if (find_program("ssh-keygen").empty()) {
        throw Error(ErrorCategory::build, "ssh-keygen",
                    "OpenSSH's ssh-keygen is needed to make keys; on Debian: apt-get install "
                    "openssh-client");
    }
}

SshKeyPair generate_ssh_key(const std::string& type, const std::string& comment, int bits) {
    require_ssh_keygen();
    const PrivateTempDir dir("keys"); // ssh-keygen's output
    const auto file = dir.path() / "key";
    std::vector<std::string> argv{"ssh-keygen", "-q", "-t",    type, "-N",
                                  "",           "-C", comment, "-f", file.string()};
    if (type == "rsa") {
        argv.insert(argv.end(), {"-b", std::to_string(bits > 0 ? bits : 4096)});
    } else if (type == "ecdsa") {
        argv.insert(argv.end(), {"-b", "256"});
    }
    run_capture({argv, {}, {}});
    SshKeyPair key;
    key.type = type;
    key.private_key = read_text(file);
    key.public_key = read_text(file.string() + ".pub");
    while (!key.public_key.empty() && key.public_key.back() == '\n') {
        key.public_key.pop_back();
    }
    // "256 SHA256:abc comment (ED25519)" -> "ED25519 SHA256:abc"
    const std::string line =
        run_capture({{"ssh-keygen", "-l", "-f", file.string() + ".pub"}, {}, {}});
    const auto first = line.find(' ');
    const auto second = line.find(' ', first + 1);
    const auto open = line.rfind('(');
    const auto close = line.rfind(')');
    if (first == std::string::npos || second == std::string::npos || open == std::string::npos ||
        close < open) {
        throw Error(ErrorCategory::internal, "ssh-keygen", "unexpected fingerprint output");
    }
    key.fingerprint =
        line.substr(open + 1, close - open - 1) + " " + line.substr(first + 1, second - first - 1);
    return key;
}

} // namespace pimint
