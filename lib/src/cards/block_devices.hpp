// What the kernel says about a block device before pimint writes to it: the disk it
// belongs to, its partitions, what is mounted from them, what else holds them, and its
// model name. The sysfs tree and the mount table are parameters, so the rules can be
// checked on a made-up machine too.
#pragma once

#include <filesystem>
#include <string>

namespace pimint {

// Why writing the block device "MAJOR:MINOR" would harm the running system, or "" when
// it would not: its disk (the device, or the disk of a partition) or one of the disk's
// partitions holds the filesystem mounted at /, is mounted, or is held by another
// device (device-mapper, RAID). `mountinfo` is /proc/self/mountinfo's text;
// `sys_dev_block` is /sys/dev/block.
std::string unsafe_block_device(const std::string& dev, const std::string& mountinfo,
                                const std::filesystem::path& sys_dev_block);

// The device's model as sysfs names it ("Generic SD/MMC", a loop device's backing file),
// or "".
std::string block_device_model(const std::string& dev, const std::filesystem::path& sys_dev_block);

} // namespace pimint
