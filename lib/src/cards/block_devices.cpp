#include "cards/block_devices.hpp"

#include <fmt/format.h>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

namespace pimint {
namespace {

std::string first_line(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) {
        line.pop_back();
    }
    return line;
}

// The disk's sysfs directory: the device's own, or its parent's for a partition.
std::filesystem::path disk_dir(const std::string& dev, const std::filesystem::path& sys) {
    std::error_code ec;
    auto dir = std::filesystem::canonical(sys / dev, ec);
    if (ec) {
        return {};
    }
    if (std::filesystem::exists(dir / "partition")) {
        dir = dir.parent_path();
    }
    return dir;
}

// "MAJOR:MINOR" of the disk and of each of its partitions.
std::set<std::string> disk_family(const std::filesystem::path& disk) {
    std::set<std::string> family{first_line(disk / "dev")};
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(disk, ec)) {
        if (std::filesystem::exists(e.path() / "partition")) {
            family.insert(first_line(e.path() / "dev"));
        }
    }
    return family;
}

struct Mount {
    std::string dev;
    std::string mount_point;
};

std::vector<Mount> mounts(const std::string& mountinfo) {
    std::vector<Mount> out;
    std::istringstream lines(mountinfo);
    std::string line;
    while (std::getline(lines, line)) {
        std::istringstream fields(line);
        std::string id, parent, dev, root, mount_point;
        if (fields >> id >> parent >> dev >> root >> mount_point) {
            out.push_back({dev, mount_point});
        }
    }
    return out;
}

} // namespace

std::string unsafe_block_device(const std::string& dev, const std::string& mountinfo,
                                const std::filesystem::path& sys_dev_block) {
    const auto disk = disk_dir(dev, sys_dev_block);
    const std::set<std::string> family =
        disk.empty() ? std::set<std::string>{dev} : disk_family(disk);
    const auto all = mounts(mountinfo);
    for (const auto& m : all) {
        if (m.mount_point == "/" && family.count(m.dev) != 0) {
            return "is the disk this computer runs from (it holds /); give the card's device";
        }
    }
    for (const auto& m : all) {
        if (family.count(m.dev) != 0) {
            return fmt::format("has a filesystem mounted at {}; unmount it first (umount {})",
                               m.mount_point, m.mount_point);
        }
    }
    for (const auto& member : family) {
        std::error_code ec;
        const auto dir = std::filesystem::canonical(sys_dev_block / member, ec);
        for (const auto& h : std::filesystem::directory_iterator(dir / "holders", ec)) {
            return fmt::format("is in use by {} (device-mapper, RAID or LVM); release it first",
                               h.path().filename().string());
        }
    }
    return "";
}

std::string block_device_model(const std::string& dev, const std::filesystem::path& sys_dev_block) {
    const auto disk = disk_dir(dev, sys_dev_block);
    if (disk.empty()) {
        return "";
    }
    for (const char* name : {"device/model", "device/name"}) {
        if (std::filesystem::exists(disk / name)) {
            return first_line(disk / name);
        }
    }
    if (std::filesystem::exists(disk / "loop" / "backing_file")) {
        return "loop device of " + first_line(disk / "loop" / "backing_file");
    }
    return "";
}

} // namespace pimint
