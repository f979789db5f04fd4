// [wifi]: the regulatory country (a Pi keeps WiFi blocked until it is set) and an
// optional network. The passphrase is stored only as its WPA PSK (PBKDF2 of passphrase
// and SSID), never in plain text. NetworkManager images get a keyfile and the country on
// the kernel command line; wpa_supplicant images get wpa_supplicant.conf.
#include "core/text.hpp"
#include "core/validate.hpp"
#include "pimint/core/error.hpp"
#include "recipe/steps/builtin_steps.hpp"
#include "recipe/steps/support.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>

namespace pimint::steps {
namespace {

constexpr const char* wpa_conf = "/etc/wpa_supplicant/wpa_supplicant.conf";
constexpr const char* nm_connection =
    "/etc/NetworkManager/system-connections/pimint-wifi.nmconnection";
constexpr std::string_view regdom_key = "cfg80211.ieee80211_regdom=";

std::string wpa_psk(const std::string& passphrase, const std::string& ssid) {
    unsigned char key[32];
    PKCS5_PBKDF2_HMAC_SHA1(passphrase.data(), static_cast<int>(passphrase.size()),
                           reinterpret_cast<const unsigned char*>(ssid.data()),
                           static_cast<int>(ssid.size()), 4096, sizeof key, key);
    std::string hex;
    for (unsigned char b : key) {
        hex += fmt::format("{:02x}", b);
    }
    return hex;
}

class WifiStep final : public Step {
public:
    explicit WifiStep(StepTable& t) {
        const auto country = t.string("country");
        if (!country) {
            t.fail("", "give the country the Pi is used in: country = \"GB\"");
        }
        country_ = country->text();
        check_value(validate::country_code(country_), "wifi.country", t.location("country").str());
        const auto ssid = t.string("ssid");
        const auto passphrase = t.string("passphrase");
        const auto psk = t.string("psk");
        if (!ssid) {
            if (passphrase || psk) {
                t.fail(passphrase ? "passphrase" : "psk", "a passphrase needs the network's ssid");
            }
            return;
        }
        ssid_ = ssid->text();
        if (ssid_.empty() || ssid_.size() > 32 ||
            ssid_.find_first_of("\"\\\n") != std::string::npos) {
            t.fail("ssid", "an SSID has 1 to 32 bytes and no quotes, backslashes or newlines");
        }
        t.require_one_of("passphrase", "psk");
        if (passphrase) {
            const std::string& p = passphrase->text();
            if (p.size() < 8 || p.size() > 63) {
                t.fail("passphrase", "a WPA passphrase has 8 to 63 characters");
            }
            psk_ = wpa_psk(p, ssid_);
        } else {
            psk_ = psk->text();
            if (psk_.size() != 64 ||
                psk_.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
                t.fail("psk", "a PSK is 64 hexadecimal digits (wpa_passphrase prints it)");
            }
        }
    }

    std::string_view name() const override { return "wifi"; }
    bool writes_own_files() const override { return true; }

    std::vector<std::string> touches(const NodeContext&, const std::string& boot) const override {
        return {std::string(wpa_conf) + " (wpa_supplicant images)",
                boot + "/cmdline.txt and " + nm_connection + " (NetworkManager images)"};
    }

    void apply(StepContext& ctx) const override {
        if (network_manager_active(ctx.fs)) {
            apply_network_manager(ctx);
        } else {
            apply_wpa_supplicant(ctx.fs);
        }
    }

private:
    void apply_wpa_supplicant(ImageFs& fs) const {
        std::string conf = fs.read_if_exists(wpa_conf).value_or(
            "ctrl_interface=DIR=/var/run/wpa_supplicant GROUP=netdev\nupdate_config=1\n");
        conf = set_assignment(conf, "country", country_, false);
        std::vector<std::string> block;
        if (!ssid_.empty()) {
            block = {"network={", fmt::format("\tssid=\"{}\"", ssid_), "\tpsk=" + psk_, "}"};
        }
        conf = replace_marked_block(conf, "wifi", block);
        fs.mkdir_p("/etc/wpa_supplicant");
        fs.write(wpa_conf, conf);
        fs.chmod(wpa_conf, 0600);
    }

    void apply_network_manager(StepContext& ctx) const {
        ImageFs& fs = ctx.fs;
        const std::string cmdline_path = ctx.layout.boot_mount + "/cmdline.txt";
        const std::string cmdline = fs.read_if_exists(cmdline_path).value_or("");
        std::string words;
        for (auto word : text::split_ws(text::trim(cmdline))) {
            if (!word.starts_with(regdom_key)) {
                words += std::string(word) + " ";
            }
        }
        fs.write(cmdline_path, words + std::string(regdom_key) + country_ + "\n");
        if (ssid_.empty()) {
            fs.remove(nm_connection);
            return;
        }
        fs.mkdir_p("/etc/NetworkManager/system-connections");
        fs.write(nm_connection,
                 fmt::format("[connection]\nid={0}\ntype=wifi\n\n[wifi]\nmode=infrastructure\n"
                             "ssid={0}\n\n[wifi-security]\nkey-mgmt=wpa-psk\npsk={1}\n\n"
                             "[ipv4]\nmethod=auto\n\n[ipv6]\nmethod=auto\n",
                             ssid_, psk_));
        fs.chmod(nm_connection, 0600);
        fs.chown(nm_connection, 0, 0);
    }

    std::string country_;
    std::string ssid_;
    std::string psk_;
};

} // namespace

void register_wifi() {
    register_step("wifi", [](StepTable& t) { return std::make_unique<WifiStep>(t); });
}

} // namespace pimint::steps
