// An image tree held in memory, for testing code that reads and writes through ImageFs
// (secret scans, config parsers) without an appliance. Files and directories only;
// operations the tests do not need throw.
#pragma once

#include <map>
#include <pimint/image/image_fs.hpp>
#include <set>
#include <stdexcept>
#include <string>

namespace pimint::test {

class MemoryImageFs final : public ImageFs {
public:
    // Adds a file and its parent directories.
    void put(const std::string& path, const std::string& content, std::uint32_t mode = 0644) {
        files_[path] = {content, mode};
        for (auto p = std::filesystem::path(path).parent_path(); p != p.root_path();
             p = p.parent_path()) {
            dirs_.insert(p.string());
        }
    }

    std::string read(const std::string& path) override {
        const auto it = files_.find(path);
        if (it == files_.end()) {
            throw std::runtime_error("no such file: " + path);
        }
        return it->second.content;
    }
    void write(const std::string& path, const std::string& content) override { put(path, content); }
    void append(const std::string& path, const std::string& content) override {
        put(path, (files_.contains(path) ? files_[path].content : "") + content);
    }
    void mkdir_p(const std::string& path) override { dirs_.insert(path); }
    void chmod(const std::string& path, std::uint32_t mode) override {
        files_.at(path).mode = mode;
    }
    void chown(const std::string&, std::uint32_t, std::uint32_t) override {}
    void symlink(const std::string&, const std::string&) override { unsupported("symlink"); }
    std::string readlink(const std::string&) override { unsupported("readlink"); }
    void remove(const std::string& path) override { files_.erase(path); }
    void tar_in(const std::filesystem::path&, const std::string&) override {
        unsupported("tar_in");
    }
    void tar_out(const std::string&, const std::filesystem::path&) override {
        unsupported("tar_out");
    }
    bool exists(const std::string& path) override {
        return files_.contains(path) || dirs_.contains(path);
    }
    std::optional<FileStat> stat(const std::string& path) override {
        if (const auto it = files_.find(path); it != files_.end()) {
            return FileStat{FileStat::Type::regular, it->second.mode, 0, 0,
                            it->second.content.size()};
        }
        if (dirs_.contains(path)) {
            return FileStat{FileStat::Type::directory, 0755, 0, 0, 0};
        }
        return std::nullopt;
    }
    std::vector<std::string> list(const std::string& dir) override {
        std::vector<std::string> names;
        const std::string prefix = dir + "/";
        for (const auto& [path, file] : files_) {
            if (path.starts_with(prefix) && path.find('/', prefix.size()) == std::string::npos) {
                names.push_back(path.substr(prefix.size()));
            }
        }
        return names;
    }
    SpaceInfo space(const std::string&) override { return {1 << 30, 1 << 29}; }

private:
    struct File {
        std::string content;
        std::uint32_t mode = 0644;
    };
    [[noreturn]] static void unsupported(const char* what) {
        throw std::logic_error(std::string("MemoryImageFs: ") + what + " is not supported");
    }
    std::map<std::string, File> files_;
    std::set<std::string> dirs_;
};

} // namespace pimint::test
