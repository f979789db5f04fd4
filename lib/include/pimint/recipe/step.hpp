// Recipe steps: each top-level table of a recipe ([ssh], [locale], ...) names a step
// type; the step reads its keys from a StepTable when the recipe is loaded (so every
// error is found before any image is opened) and later applies itself to a mounted image.
// Programs linking libpimint can add their own step types with register_step().
#pragma once

#include "pimint/image/appliance.hpp"
#include "pimint/image/image_fs.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pimint {

// Where a recipe value was written.
struct SourceLocation {
    std::string file;
    int line = 0;
    int column = 0;
    std::string str() const; // "file:line:col"
};

// What is known about the node an image is made for. The strings can appear in recipe
// values as {hostname}, {index} (or {index:03}), {ip} and {cluster}.
struct NodeContext {
    std::string hostname;
    int index = 0;
    std::string ip;      // the node's LAN address, empty when not planned
    std::string cluster; // the cluster's name, empty for a single node
    // In cluster mode every node's name and address, for /etc/hosts.
    std::vector<std::pair<std::string, std::string>> hosts;
};

// A recipe string that may hold placeholders; parsed (and checked) when the recipe is
// loaded, expanded for each node. "${...}" is left alone for shell lines, and "{{"/"}}"
// write literal braces.
class Template {
public:
    Template() = default;
    // Throws Error(recipe) at `where` for an unknown placeholder.
    Template(std::string text, const SourceLocation& where);
    std::string expand(const NodeContext& node) const;
    const std::string& text() const noexcept { return text_; }
    bool has_placeholders() const noexcept { return has_placeholders_; }

private:
    std::string text_;
    bool has_placeholders_ = false;
};

// The keys of one step's table, read strictly: each getter records the key as known;
// finish() then reports any other key as unknown, with a did-you-mean hint.
class StepTable {
public:
    struct Impl;
    explicit StepTable(std::unique_ptr<Impl> impl);
    ~StepTable();
    StepTable(const StepTable&) = delete;
    StepTable& operator=(const StepTable&) = delete;

    const std::string& name() const;
    std::optional<Template> string(std::string_view key);
    // A string taken as written, for values with placeholders of their own.
    std::optional<std::string> plain(std::string_view key);
    std::optional<bool> boolean(std::string_view key);
    std::optional<std::int64_t> integer(std::string_view key);
    // An integer that must lie in [low, high]; `problem` says why otherwise.
    std::optional<int> integer_in(std::string_view key, int low, int high,
                                  const std::string& problem);
    std::optional<std::vector<Template>> strings(std::string_view key);
    // A mode given as a string of octal digits ("0644") or an integer.
    std::optional<std::uint32_t> mode(std::string_view key);

    SourceLocation location(std::string_view key) const; // the key's value, or the table
    [[noreturn]] void fail(std::string_view key, const std::string& message) const;
    // Fails unless exactly one of the keys was given.
    void require_one_of(std::string_view a, std::string_view b) const;
    void finish();
    // True when a string read so far holds a placeholder: the step's result then
    // differs from node to node.
    bool has_placeholders() const;
    // After a step rejected its table: throws the unknown-key error instead when an
    // unknown key is a likely misspelling of a known one (the typo is the real cause).
    void report_misspelled_key() const;

private:
    std::unique_ptr<Impl> impl_;
};

// What a step gets when it is applied to one image.
struct StepContext {
    ImageFs& fs;
    const Layout& layout;
    const NodeContext& node;
    std::string recipe_dir; // for files named relative to the recipe
    StatusCallback status;  // for steps that take long (host builds)
    // $SOURCE_DATE_EPOCH when set: the build must be reproducible, so nothing random
    // that is not an input (password salts are derived instead).
    std::optional<std::int64_t> source_date;
};

class Step {
public:
    virtual ~Step() = default;
    // The recipe table name ("ssh").
    virtual std::string_view name() const = 0;
    // The image paths the step writes, for `--dry-run`.
    virtual std::vector<std::string> touches(const NodeContext& node,
                                             const std::string& boot_mount) const = 0;
    virtual void apply(StepContext& ctx) const = 0;
    // Bytes the step adds to the root filesystem at most (checked before writing).
    virtual std::uint64_t space_needed() const { return 64 * 1024; }
    // Bytes by which the image file and its root partition must grow before any step
    // runs (done by apply(), before mounting).
    virtual std::uint64_t grow_bytes() const { return 0; }
    // Fills in what the step decides about the node ({hostname} for later steps).
    virtual void contribute(NodeContext&) const {}
    // Host files the step reads, for Recipe::fingerprint().
    virtual std::vector<std::filesystem::path> host_inputs() const { return {}; }
    // True when the result depends on the node beyond the step's values (its name,
    // address or host list), so that even the same table gives each node its own edit.
    virtual bool reads_node() const { return false; }
    // True when no other step type writes the files this step writes, so the step may be
    // applied before steps that precede it in the recipe (Recipe::split_for_nodes). A
    // step that may write any path ([[files]]) keeps its place.
    virtual bool writes_own_files() const { return false; }
};

using StepFactory = std::function<std::unique_ptr<Step>(StepTable&)>;

// Adds a step type; `array` steps are written as [[name]] (an array of tables), each
// table making one step. Throws Error(internal) when the name is taken.
void register_step(const std::string& name, StepFactory factory, bool array = false);
std::vector<std::string> registered_steps();

} // namespace pimint
