// [network]: a static address for the wired interface. The mechanism follows what the
// image runs: dhcpcd (Raspbian up to bullseye) gets a block in /etc/dhcpcd.conf,
// NetworkManager (bookworm) a keyfile.
#include "core/validate.hpp"
#include "pimint/core/error.hpp"
#include "recipe/steps/builtin_steps.hpp"
#include "recipe/steps/support.hpp"

#include <fmt/format.h>

namespace pimint::steps {
namespace {

class NetworkStep final : public Step {
public:
    explicit NetworkStep(StepTable& t)
        : where_(t.location("")) {
        interface_ = t.string("interface").value_or(Template("eth0", where_)).text();
        if (interface_.empty() || interface_.find_first_of(" \t\n/") != std::string::npos) {
            t.fail("interface", "expected an interface name such as eth0");
        }
        auto address = t.string("address");
        if (!address) {
            t.fail("", "give the static address with its prefix: address = \"192.168.1.10/24\"");
        }
        address_ = std::move(*address);
        gateway_ = t.string("gateway").value_or(Template());
        dns_ = t.strings("dns").value_or(std::vector<Template>{});
        // Values without placeholders are checked now, the others once expanded.
        check(NodeContext{}, true);
    }

    std::string_view name() const override { return "network"; }
    bool writes_own_files() const override { return true; }
    bool reads_node() const override { return true; }

    std::vector<std::string> touches(const NodeContext&, const std::string&) const override {
        return {"/etc/dhcpcd.conf (dhcpcd images)",
                "/etc/NetworkManager/system-connections/pimint-" + interface_ +
                    ".nmconnection (NetworkManager images)"};
    }

    void apply(StepContext& ctx) const override {
        check(ctx.node, false);
        const std::string address = address_.expand(ctx.node);
        const std::string gateway = gateway_.expand(ctx.node);
        std::vector<std::string> dns;
        for (const auto& d : dns_) {
            dns.push_back(d.expand(ctx.node));
        }
        ImageFs& fs = ctx.fs;
        if (network_manager_active(fs)) {
            write_keyfile(fs, address, gateway, dns);
        } else if (fs.exists("/sbin/dhcpcd") || fs.exists("/usr/sbin/dhcpcd")) {
            std::vector<std::string> block{"interface " + interface_,
                                           "static ip_address=" + address};
            if (!gateway.empty()) {
                block.push_back("static routers=" + gateway);
            }
            if (!dns.empty()) {
                block.push_back("static domain_name_servers=" + join(dns, " "));
            }
            fs.write("/etc/dhcpcd.conf",
                     replace_marked_block(fs.read_if_exists("/etc/dhcpcd.conf").value_or(""),
                                          "network", block));
        } else {
            throw Error(
                ErrorCategory::image, "network",
                "the image has neither dhcpcd nor NetworkManager, so pimint cannot set a static "
                "address; add one of them to the image");
        }
    }

private:
    void write_keyfile(ImageFs& fs, const std::string& address, const std::string& gateway,
                       const std::vector<std::string>& dns) const {
        const std::string path =
            "/etc/NetworkManager/system-connections/pimint-" + interface_ + ".nmconnection";
        std::string ipv4 =
            "method=manual\naddress1=" + address + (gateway.empty() ? "" : "," + gateway) + "\n";
        if (!dns.empty()) {
            ipv4 += "dns=" + join(dns, ";") + ";\n";
        }
        fs.mkdir_p("/etc/NetworkManager/system-connections");
        fs.write(path,
                 fmt::format("[connection]\nid=pimint-{0}\ntype=ethernet\ninterface-name={0}\n"
                             "autoconnect=true\n\n[ipv4]\n{1}\n[ipv6]\nmethod=auto\n",
                             interface_, ipv4));
        fs.chmod(path, 0600);
        fs.chown(path, 0, 0);
    }

    static std::string join(const std::vector<std::string>& parts, const char* sep) {
        std::string out;
        for (const auto& p : parts) {
            out += (out.empty() ? "" : sep) + p;
        }
        return out;
    }

    void check(const NodeContext& node, bool only_fixed) const {
        const auto one = [&](const Template& t, auto validator, const char* key) {
            if (t.text().empty() || (only_fixed && t.has_placeholders())) {
                return;
            }
            check_value(validator(t.expand(node)), std::string("network.") + key, where_.str());
        };
        one(address_, validate::ipv4_cidr, "address");
        one(gateway_, validate::ipv4, "gateway");
        for (const auto& d : dns_) {
            one(d, validate::ipv4, "dns");
        }
    }

    SourceLocation where_;
    std::string interface_;
    Template address_;
    Template gateway_;
    std::vector<Template> dns_;
};

} // namespace

void register_network() {
    register_step("network", [](StepTable& t) { return std::make_unique<NetworkStep>(t); });
}

} // namespace pimint::steps
