// What an ELF file (an image's libc, say) is built for: its architecture, and on 32-bit
// ARM the oldest CPU its code runs on, the Tag_CPU_arch of its build attributes
// (.ARM.attributes). Images are judged by what their files hold, never by their name.
#pragma once

#include <string>
#include <string_view>

namespace pimint {

struct ElfArch {
    // Debian's name: "armhf", "armel", "arm64", "amd64", "i386", or "machine N" for
    // another e_machine.
    std::string architecture;
    // "armv6", "armv6kz", "armv7", ... from Tag_CPU_arch; "armv8-a" on arm64 (AArch64
    // files carry no such tag); empty when unknown.
    std::string code_baseline;
};

// Reads the ELF header and, for 32-bit ARM, the build attributes of `bytes`, the content
// of the file `name`. Throws Error(image) naming it when it is no ELF file or is cut short.
ElfArch read_elf_arch(std::string_view bytes, const std::string& name);

// Whether code built for `code` (a code_baseline) runs on every CPU that runs code built
// for `cpu`: the A-profile architectures in order, ARMv6K and ARMv6KZ alike (the Pi 1's
// ARM1176 is v6KZ), ARMv6T2 (Thumb-2) above them. An empty `code` (a file without
// build attributes) runs anywhere; microcontroller profiles (armv6-m, armv7e-m, ...) on
// no Pi.
bool code_runs_on(std::string_view code, std::string_view cpu);

} // namespace pimint
