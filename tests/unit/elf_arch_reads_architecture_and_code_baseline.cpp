// An image's architecture comes from its libc's ELF header and, on 32-bit ARM, its code
// baseline from the Tag_CPU_arch of its build attributes: checked on hand-made ELF files
// and on Debian's armhf libc of the cross toolchain.
#include "image/elf_arch.hpp"
#include "pimint/core/error.hpp"

#include <cstdint>
#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace {

void put(std::string& s, size_t at, std::uint64_t v, int width) {
    for (int i = 0; i < width; ++i) {
        s[at + static_cast<size_t>(i)] = static_cast<char>(v >> (8 * i) & 0xff);
    }
}

std::string le(std::uint64_t v, int width) {
    std::string s(static_cast<size_t>(width), '\0');
    put(s, 0, v, width);
    return s;
}

// A 32-bit ARM ELF file with e_flags `flags` and an .ARM.attributes section holding
// `attributes` (tag/value pairs for the whole file) for the "aeabi" vendor.
std::string arm_elf(std::uint32_t flags, const std::string& attributes) {
    const std::string file = "\x01" + le(5 + attributes.size(), 4) + attributes;
    const std::string vendor = std::string("aeabi", 6); // with its NUL
    const std::string section = "A" + le(4 + vendor.size() + file.size(), 4) + vendor + file;
    std::string elf(52, '\0');
    elf.replace(0, 4,
                "\x7f"
                "ELF");
    elf[4] = 1; // ELFCLASS32
    elf[5] = 1; // little endian
    elf[6] = 1;
    put(elf, 18, 40, 2); // EM_ARM
    put(elf, 32, 52 + section.size(), 4);
    put(elf, 36, flags, 4);
    put(elf, 46, 40, 2);
    put(elf, 48, 2, 2);
    std::string headers(80, '\0'); // the null section, then the attributes
    put(headers, 40 + 4, 0x70000003, 4);
    put(headers, 40 + 16, 52, 4);
    put(headers, 40 + 20, section.size(), 4);
    return elf + section + headers;
}

std::string elf64(std::uint16_t machine) {
    std::string elf(64, '\0');
    elf.replace(0, 4,
                "\x7f"
                "ELF");
    elf[4] = 2;
    elf[5] = 1;
    put(elf, 18, machine, 2);
    return elf;
}

} // namespace

TEST_CASE("32-bit ARM: the float ABI names the architecture, Tag_CPU_arch the baseline") {
    struct Case {
        const char* what;
        std::uint32_t flags;
        std::string attributes;
        const char* architecture;
        const char* baseline;
    };
    const Case cases[] = {
        {"a Raspbian-style libc: hard float, ARMv6KZ after its CPU name", 0x05000400,
         std::string("\x05"
                     "ARM1176JZF-S\0"
                     "\x06\x07\x08\x01",
                     18),
         "armhf", "armv6kz"},
        {"soft float, ARMv7 after a compatibility tag", 0x05000200,
         std::string("\x20\x01"
                     "gnu\0"
                     "\x06\x0a",
                     8),
         "armel", "armv7"},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        const auto arch = pimint::read_elf_arch(arm_elf(c.flags, c.attributes), "libc.so.6");
        CHECK(arch.architecture == c.architecture);
        CHECK(arch.code_baseline == c.baseline);
    }
}

TEST_CASE("64-bit files: arm64 is plain armv8-a, others are named") {
    CHECK(pimint::read_elf_arch(elf64(183), "x").architecture == "arm64");
    CHECK(pimint::read_elf_arch(elf64(183), "x").code_baseline == "armv8-a");
    CHECK(pimint::read_elf_arch(elf64(62), "x").architecture == "amd64");
    CHECK(pimint::read_elf_arch(elf64(243), "x").architecture == "machine 243");
}

TEST_CASE("Debian's armhf libc is ARMv7") {
    const std::filesystem::path libc = "/usr/arm-linux-gnueabihf/lib/libc.so.6";
    REQUIRE_MESSAGE(std::filesystem::exists(libc), "tools/install-deps installs the toolchain");
    std::ifstream in(libc, std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(in), {}};
    const auto arch = pimint::read_elf_arch(bytes, libc.string());
    CHECK(arch.architecture == "armhf");
    CHECK(arch.code_baseline == "armv7");
}

TEST_CASE("no ELF file, or one cut short, is an image error naming the file") {
    const auto message = [](const std::string& bytes) {
        try {
            pimint::read_elf_arch(bytes, "/usr/lib/arm-linux-gnueabihf/libc.so.6");
        } catch (const pimint::Error& e) {
            CHECK(e.category() == pimint::ErrorCategory::image);
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK(message("#!/bin/sh\n") == "/usr/lib/arm-linux-gnueabihf/libc.so.6: not an ELF file");
    const std::string whole = arm_elf(0x05000400, "\x06\x0a");
    CHECK(message(whole.substr(0, 30)) ==
          "/usr/lib/arm-linux-gnueabihf/libc.so.6: the ELF file is cut short");
    CHECK(message(whole.substr(0, whole.size() - 30)) ==
          "/usr/lib/arm-linux-gnueabihf/libc.so.6: the ELF file is cut short");
}

TEST_CASE("attributes that make no sense leave the baseline unknown") {
    for (const auto& attributes :
         {std::string("\x06", 1), std::string("\x05no end", 7), std::string("\x06\x80", 2)}) {
        const auto arch = pimint::read_elf_arch(arm_elf(0x05000400, attributes), "x");
        CHECK(arch.architecture == "armhf");
        CHECK(arch.code_baseline.empty());
    }
}

TEST_CASE("code runs on a CPU of its own architecture version or a later one") {
    using pimint::code_runs_on;
    CHECK(code_runs_on("armv6kz", "armv6kz"));
    CHECK(code_runs_on("armv6", "armv7"));
    CHECK(code_runs_on("armv6k", "armv6kz")); // the Pi 1's ARM1176 is both
    CHECK(code_runs_on("armv7", "armv8-a"));
    CHECK(code_runs_on("", "armv6kz"));              // no build attributes: data, or hand-written
    CHECK_FALSE(code_runs_on("armv7", "armv6kz"));   // SIGILL on a Pi 1 or Zero
    CHECK_FALSE(code_runs_on("armv6t2", "armv6kz")); // Thumb-2 is not on the ARM1176
    CHECK_FALSE(code_runs_on("armv8-a", "armv7"));
    CHECK_FALSE(code_runs_on("armv7e-m", "armv8-a")); // a microcontroller profile
    CHECK_FALSE(code_runs_on("armv7", ""));           // an unknown CPU runs nothing known
}
