// [hostname]: /etc/hostname and the name's line in /etc/hosts. A standalone node maps its
// name to 127.0.1.1 (the Debian convention); a cluster node maps every node's name,
// its own included, to the LAN address, because MPICH fails across nodes when a node's
// own name resolves to 127.0.1.1.
#include "core/text.hpp"
#include "core/validate.hpp"
#include "pimint/core/error.hpp"
#include "recipe/steps/builtin_steps.hpp"
#include "recipe/steps/support.hpp"

namespace pimint::steps {
namespace {

class HostnameStep final : public Step {
public:
    explicit HostnameStep(StepTable& t)
        : where_(t.location("name")) {
        auto name = t.string("name");
        if (!name) {
            t.fail("", "give the host name: name = \"raspberrypi\"");
        }
        name_ = std::move(*name);
        if (name_.text().find("{hostname}") != std::string::npos) {
            t.fail("name", "the host name cannot be made from {hostname}");
        }
        if (!name_.has_placeholders()) {
            check_value(validate::hostname(name_.text()), "hostname.name", where_.str());
        }
    }

    std::string_view name() const override { return "hostname"; }
    bool writes_own_files() const override { return true; }
    bool reads_node() const override { return true; }

    void contribute(NodeContext& node) const override {
        node.hostname = name_.expand(node);
        check_value(validate::hostname(node.hostname), "hostname.name", where_.str());
    }

    std::vector<std::string> touches(const NodeContext&, const std::string&) const override {
        return {"/etc/hostname", "/etc/hosts"};
    }

    void apply(StepContext& ctx) const override {
        const std::string name = name_.expand(ctx.node);
        check_value(validate::hostname(name), "hostname.name", where_.str());
        ctx.fs.write("/etc/hostname", name + "\n");
        std::string hosts;
        const std::string current =
            ctx.fs.read_if_exists("/etc/hosts").value_or("127.0.0.1\tlocalhost\n");
        bool replaced = false;
        for (auto line : text::split_lines(current)) {
            const auto fields = text::split_ws(line);
            if (!fields.empty() && fields[0] == "127.0.1.1") {
                if (ctx.node.hosts.empty() && !replaced) {
                    hosts += "127.0.1.1\t" + name + "\n";
                    replaced = true;
                }
                continue;
            }
            hosts += std::string(line) + "\n";
        }
        std::vector<std::string> cluster;
        for (const auto& [host, address] : ctx.node.hosts) {
            cluster.push_back(address + "\t" + host);
        }
        hosts = replace_marked_block(hosts, "cluster", cluster);
        if (ctx.node.hosts.empty() && !replaced) {
            hosts += "127.0.1.1\t" + name + "\n";
        }
        ctx.fs.write("/etc/hosts", hosts);
    }

private:
    SourceLocation where_;
    Template name_;
};

} // namespace

void register_hostname() {
    register_step("hostname", [](StepTable& t) { return std::make_unique<HostnameStep>(t); });
}

} // namespace pimint::steps
