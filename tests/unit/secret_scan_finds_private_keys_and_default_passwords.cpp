// What `pimint publish` refuses: users' private SSH keys (by name or by content) and
// accounts whose password hash matches a published default; public keys, host keys,
// locked accounts and real passwords pass.
#include "memory_image_fs.hpp"
#include "publish/secret_scan.hpp"

#include <crypt.h>
#include <doctest/doctest.h>

using namespace pimint;

namespace {

std::string sha512(const char* password) {
    crypt_data data{};
    const char* hash = crypt_rn(password, "$6$testsalt$", &data, sizeof data);
    REQUIRE(hash != nullptr);
    return hash;
}

test::MemoryImageFs image_with_users() {
    test::MemoryImageFs fs;
    fs.put("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"
                          "pi:x:1000:1000:,,,:/home/pi:/bin/bash\n"
                          "lab:x:1001:1001:,,,:/home/lab:/bin/bash\n");
    fs.put("/etc/ssh/ssh_host_ed25519_key", "-----BEGIN OPENSSH PRIVATE KEY-----\nhost\n", 0600);
    fs.put("/home/pi/.ssh/authorized_keys", "ssh-ed25519 AAAAC3Nza master\n");
    fs.put("/home/pi/.ssh/id_rsa.pub", "ssh-rsa AAAAB3Nza pi@master\n");
    return fs;
}

} // namespace

TEST_CASE("a clean image has no findings, host keys included") {
    auto fs = image_with_users();
    fs.put("/etc/shadow", "root:*:19000:0:99999:7:::\npi:" + sha512("a class password") +
                              ":19000:0:99999:7:::\nlab:!:19000::::::\n");
    CHECK(find_secrets(fs).empty());
}

TEST_CASE("private keys are found by name and by content, in every user's ~/.ssh") {
    auto fs = image_with_users();
    fs.put("/home/pi/.ssh/id_rsa", "-----BEGIN OPENSSH PRIVATE KEY-----\nkey\n", 0600);
    fs.put("/root/.ssh/backup", "-----BEGIN RSA PRIVATE KEY-----\nkey\n", 0600);
    fs.put("/home/lab/.ssh/id_ed25519", "binary-looking key material", 0600);
    const auto found = find_secrets(fs);
    CHECK(found == std::vector<std::string>{"/home/lab/.ssh/id_ed25519: a private SSH key",
                                            "/home/pi/.ssh/id_rsa: a private SSH key",
                                            "/root/.ssh/backup: a private SSH key"});
}

TEST_CASE("the default password raspberry is found whatever the user") {
    auto fs = image_with_users();
    fs.put("/etc/shadow", "pi:" + sha512("raspberry") + ":19000:0:99999:7:::\nlab:" +
                              sha512("raspberry") + ":19000:0:99999:7:::\n");
    CHECK(find_secrets(fs) ==
          std::vector<std::string>{"/etc/shadow: user pi has the default password \"raspberry\"",
                                   "/etc/shadow: user lab has the default password \"raspberry\""});
}
