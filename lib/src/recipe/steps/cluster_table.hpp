// The [cluster] table: not an edit of the image but the plan of a cluster. It is read
// like a step (strict keys, --set, includes) and applies nothing itself.
#pragma once

#include "pimint/recipe/cluster_spec.hpp"
#include "pimint/recipe/step.hpp"

namespace pimint::steps {

class ClusterTable final : public Step {
public:
    explicit ClusterTable(StepTable& t);
    std::string_view name() const override { return "cluster"; }
    std::vector<std::string> touches(const NodeContext&, const std::string&) const override {
        return {};
    }
    void apply(StepContext&) const override {}
    std::uint64_t space_needed() const override { return 0; }

    const ClusterSpec& spec() const { return spec_; }
    const SourceLocation& where() const { return where_; }

private:
    ClusterSpec spec_;
    SourceLocation where_;
};

} // namespace pimint::steps
