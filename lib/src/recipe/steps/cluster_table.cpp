#include "recipe/steps/cluster_table.hpp"

#include "core/ipv4.hpp"
#include "core/validate.hpp"
#include "recipe/steps/builtin_steps.hpp"
#include "recipe/steps/support.hpp"

#include <fmt/format.h>

namespace pimint {

std::string ClusterSpec::origin_of(const std::string& key) const {
    const auto it = origin.find(key);
    return it != origin.end() ? it->second : source;
}

namespace steps {

ClusterTable::ClusterTable(StepTable& t)
    : where_(t.location("")) {
    spec_.source = where_.file;
    const auto text = [&](const char* key, std::string& field) {
        if (auto v = t.string(key)) {
            field = v->text();
            spec_.origin[key] = t.location(key).str();
        }
    };
    text("name", spec_.name);
    text("master", spec_.master);
    text("worker_name", spec_.worker_name);
    text("subnet", spec_.subnet);
    text("first_address", spec_.first_address);
    text("gateway", spec_.gateway);
    text("addressing", spec_.addressing);
    text("key_type", spec_.key_type);
    text("master_recipe", spec_.master_recipe);
    text("worker_recipe", spec_.worker_recipe);
    spec_.unique_disk_ids = t.boolean("unique_disk_ids").value_or(false);
    if (auto dns = t.strings("dns")) {
        for (const auto& d : *dns) {
            check_value(validate::ipv4(d.text()), "cluster.dns", t.location("dns").str());
            spec_.dns.push_back(d.text());
        }
    }
    spec_.workers =
        t.integer_in("workers", 1, 4096, "a cluster has 1 to 4096 workers").value_or(spec_.workers);
    spec_.origin["workers"] = t.location("workers").str();
    spec_.slots =
        t.integer_in("slots", 1, 1024, "slots per node is 1 to 1024").value_or(spec_.slots);
    check_value(validate::hostname(spec_.name), "cluster.name", t.location("name").str());
    check_value(validate::hostname(spec_.master), "cluster.master", t.location("master").str());
    check_value(validate::ipv4_cidr(spec_.subnet), "cluster.subnet", t.location("subnet").str());
    if (spec_.origin.count("subnet") != 0 && spec_.origin.count("first_address") == 0) {
        // The default first address belongs to the default subnet: in another subnet,
        // start at its tenth address (or its first host in a small one).
        const ipv4::Subnet subnet = ipv4::parse_subnet(spec_.subnet);
        const std::uint64_t tenth = std::uint64_t(subnet.network) + 10;
        spec_.first_address = ipv4::format(
            tenth <= subnet.last_host() ? static_cast<std::uint32_t>(tenth) : subnet.first_host());
    }
    check_value(validate::ipv4(spec_.first_address), "cluster.first_address",
                t.location("first_address").str());
    if (!spec_.gateway.empty()) {
        check_value(validate::ipv4(spec_.gateway), "cluster.gateway", t.location("gateway").str());
    }
    if (spec_.addressing != "static" && spec_.addressing != "dhcp") {
        t.fail("addressing",
               fmt::format("'{}' is not an addressing mode; use \"static\" (addresses planned "
                           "from first_address) or \"dhcp\" (with mDNS .local names)",
                           spec_.addressing));
    }
    if (spec_.key_type != "rsa" && spec_.key_type != "ed25519") {
        t.fail("key_type",
               fmt::format(
                   "'{}' is not a key type; use \"rsa\" (4096 bits, as in the classic recipe) or "
                   "\"ed25519\"",
                   spec_.key_type));
    }
    if (spec_.worker_name.find("{index") == std::string::npos) {
        t.fail("worker_name",
               "the worker name pattern needs {index} or {index:03} so every worker differs");
    }
    Template(spec_.worker_name, t.location("worker_name")); // checks its placeholders
}

void register_cluster() {
    register_step("cluster", [](StepTable& t) { return std::make_unique<ClusterTable>(t); });
}

} // namespace steps
} // namespace pimint
