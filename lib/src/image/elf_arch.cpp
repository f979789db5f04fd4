#include "image/elf_arch.hpp"

#include "pimint/core/error.hpp"

#include <array>
#include <cstdint>
#include <fmt/format.h>
#include <optional>
#include <utility>

namespace pimint {
namespace {

constexpr std::uint16_t em_386 = 3;
constexpr std::uint16_t em_arm = 40;
constexpr std::uint16_t em_x86_64 = 62;
constexpr std::uint16_t em_aarch64 = 183;
constexpr std::uint32_t ef_arm_abi_float_hard = 0x400;
constexpr std::uint32_t sht_arm_attributes = 0x70000003;
constexpr std::uint64_t tag_file = 1;
constexpr std::uint64_t tag_cpu_name = 5;
constexpr std::uint64_t tag_cpu_arch = 6;
constexpr std::uint64_t tag_compatibility = 32;

// Tag_CPU_arch values in the order of the ARM ABI's build attributes addenda.
constexpr std::array<const char*, 23> cpu_arch_names{
    "armv4-pre", "armv4",     "armv4t",    "armv5t",         "armv5te",      "armv5tej",
    "armv6",     "armv6kz",   "armv6t2",   "armv6k",         "armv7",        "armv6-m",
    "armv6s-m",  "armv7e-m",  "armv8-a",   "armv8-r",        "armv8-m.base", "armv8-m.main",
    "armv8.1-a", "armv8.2-a", "armv8.3-a", "armv8.1-m.main", "armv9-a"};

// Little-endian reads that fail, naming the file, past the end of the data.
class Reader {
public:
    Reader(std::string_view bytes, const std::string& name)
        : bytes_(bytes)
        , name_(name) {}

    std::uint64_t le(size_t at, size_t width) const {
        if (at > bytes_.size() || bytes_.size() - at < width) {
            throw Error(ErrorCategory::image, name_, "the ELF file is cut short");
        }
        std::uint64_t v = 0;
        for (size_t i = width; i-- > 0;) {
            v = v << 8 | static_cast<unsigned char>(bytes_[at + i]);
        }
        return v;
    }
    std::string_view range(std::uint64_t at, std::uint64_t size) const {
        if (at > bytes_.size() || bytes_.size() - at < size) {
            throw Error(ErrorCategory::image, name_, "the ELF file is cut short");
        }
        return bytes_.substr(static_cast<size_t>(at), static_cast<size_t>(size));
    }

private:
    std::string_view bytes_;
    const std::string& name_;
};

// ULEB128 at `at` in `s`; moves `at` past it. nullopt when it runs off the end.
std::optional<std::uint64_t> uleb128(std::string_view s, size_t& at) {
    std::uint64_t v = 0;
    for (int shift = 0; at < s.size() && shift < 64; shift += 7) {
        const auto byte = static_cast<unsigned char>(s[at++]);
        v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
        if ((byte & 0x80) == 0) {
            return v;
        }
    }
    return std::nullopt;
}

// The little-endian 32-bit number at `at` in `s`, or nullopt past its end.
std::optional<std::uint32_t> le32(std::string_view s, size_t at) {
    if (at > s.size() || s.size() - at < 4) {
        return std::nullopt;
    }
    std::uint32_t v = 0;
    for (size_t i = 4; i-- > 0;) {
        v = v << 8 | static_cast<unsigned char>(s[at + i]);
    }
    return v;
}

// Tag_CPU_arch among the attributes of a whole file (tag/value pairs), or nullopt.
std::optional<std::uint64_t> cpu_arch_in(std::string_view attrs) {
    for (size_t a = 0; a < attrs.size();) {
        const auto tag = uleb128(attrs, a);
        if (!tag) {
            return std::nullopt;
        }
        // Tags 4 and 5 and, from 32 on, the odd ones hold strings (32 a number first);
        // the others a number.
        if (*tag == tag_compatibility && !uleb128(attrs, a)) {
            return std::nullopt;
        }
        if (*tag == 4 || *tag == tag_cpu_name || *tag == tag_compatibility ||
            (*tag > tag_compatibility && *tag % 2 == 1)) {
            const auto end = attrs.find('\0', a);
            if (end == std::string_view::npos) {
                return std::nullopt;
            }
            a = end + 1;
            continue;
        }
        const auto value = uleb128(attrs, a);
        if (!value) {
            return std::nullopt;
        }
        if (*tag == tag_cpu_arch) {
            return value;
        }
    }
    return std::nullopt;
}

// Tag_CPU_arch of the "aeabi" attributes of the whole file in an .ARM.attributes
// section: 'A', then vendor subsections (length, name, then sub-subsections: a tag, 1
// for the whole file, a length, and the attributes).
std::optional<std::uint64_t> cpu_arch(std::string_view section) {
    if (section.empty() || section[0] != 'A') {
        return std::nullopt;
    }
    for (size_t at = 1; at < section.size();) {
        const auto length = le32(section, at);
        if (!length || *length < 4 || *length > section.size() - at) {
            return std::nullopt;
        }
        const std::string_view sub = section.substr(at + 4, *length - 4);
        at += *length;
        const auto vendor_end = sub.find('\0');
        if (vendor_end == std::string_view::npos || sub.substr(0, vendor_end) != "aeabi") {
            continue;
        }
        for (size_t s = vendor_end + 1; s < sub.size();) {
            const auto size = le32(sub, s + 1);
            if (!size || *size < 5 || *size > sub.size() - s) {
                return std::nullopt;
            }
            if (static_cast<unsigned char>(sub[s]) == tag_file) {
                return cpu_arch_in(sub.substr(s + 5, *size - 5));
            }
            s += *size;
        }
    }
    return std::nullopt;
}

// The order of the A-profile architectures a Pi's CPU can have; nullopt for the others.
std::optional<int> a_profile_rank(std::string_view arch) {
    constexpr std::array<std::pair<std::string_view, int>, 16> ranks{{{"armv4-pre", 0},
                                                                      {"armv4", 1},
                                                                      {"armv4t", 2},
                                                                      {"armv5t", 3},
                                                                      {"armv5te", 4},
                                                                      {"armv5tej", 5},
                                                                      {"armv6", 6},
                                                                      {"armv6k", 7},
                                                                      {"armv6kz", 7},
                                                                      {"armv6t2", 8},
                                                                      {"armv7", 9},
                                                                      {"armv8-a", 10},
                                                                      {"armv8.1-a", 11},
                                                                      {"armv8.2-a", 12},
                                                                      {"armv8.3-a", 13},
                                                                      {"armv9-a", 14}}};
    for (const auto& [name, rank] : ranks) {
        if (name == arch) {
            return rank;
        }
    }
    return std::nullopt;
}

} // namespace

bool code_runs_on(std::string_view code, std::string_view cpu) {
    if (code.empty()) {
        return true;
    }
    const auto code_rank = a_profile_rank(code);
    const auto cpu_rank = a_profile_rank(cpu);
    return code_rank && cpu_rank && *code_rank <= *cpu_rank;
}

ElfArch read_elf_arch(std::string_view bytes, const std::string& name) {
    if (bytes.size() < 16 || bytes.substr(0, 4) != "\x7f"
                                                   "ELF") {
        throw Error(ErrorCategory::image, name, "not an ELF file");
    }
    const bool elf64 = bytes[4] == 2;
    if ((bytes[4] != 1 && !elf64) || bytes[5] != 1) {
        throw Error(ErrorCategory::image, name,
                    "not a little-endian ELF file, as ARM and x86 Linux use");
    }
    const Reader r(bytes, name);
    const auto machine = static_cast<std::uint16_t>(r.le(18, 2));
    ElfArch out;
    switch (machine) {
    case em_aarch64:
        return {"arm64", "armv8-a"};
    case em_x86_64:
        return {"amd64", ""};
    case em_386:
        return {"i386", ""};
    case em_arm:
        break;
    default:
        return {fmt::format("machine {}", machine), ""};
    }
    // 32-bit ARM: ELF32 offsets.
    const auto flags = static_cast<std::uint32_t>(r.le(36, 4));
    out.architecture = flags & ef_arm_abi_float_hard ? "armhf" : "armel";
    const auto shoff = r.le(32, 4);
    const auto shentsize = r.le(46, 2);
    const auto shnum = r.le(48, 2);
    for (std::uint64_t i = 0; i < shnum; ++i) {
        const std::uint64_t header = shoff + i * shentsize;
        if (r.le(header + 4, 4) != sht_arm_attributes) {
            continue;
        }
        const auto arch = cpu_arch(r.range(r.le(header + 16, 4), r.le(header + 20, 4)));
        if (arch && *arch < cpu_arch_names.size()) {
            out.code_baseline = cpu_arch_names[*arch];
        }
        break;
    }
    return out;
}

} // namespace pimint
