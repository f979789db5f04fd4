// The one exception type of pimint. Every failure a user can cause or meet carries a
// category (what kind of problem, which decides the CLI's exit code), a message (what
// went wrong and how to fix it) and a context (the file, and where known the line or
// field, it concerns).
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace pimint {

enum class ErrorCategory {
    usage,       // the command line is wrong
    recipe,      // the recipe file is invalid
    image,       // the input image is not a usable Raspberry Pi image
    io,          // reading or writing a host file failed
    appliance,   // libguestfs could not start or failed inside the appliance
    build,       // a host-side build (cross-compiling MPICH) failed
    secret,      // an image to publish holds a private key or a default password
    target,      // a card or file to write is unsafe or unusable, or did not verify
    interrupted, // the run was stopped by a signal
    internal,    // a bug in pimint
};

class Error : public std::runtime_error {
public:
    Error(ErrorCategory category, std::string context, std::string message);

    ErrorCategory category() const noexcept { return category_; }
    const std::string& context() const noexcept { return context_; }
    const std::string& message() const noexcept { return message_; }

private:
    ErrorCategory category_;
    std::string context_;
    std::string message_;
};

// The exit code the CLI uses for each category; distinct and stable (see README).
int exit_code(ErrorCategory category) noexcept;

// A short lower-case name ("recipe", "image", ...) for JSON output and logs.
std::string_view category_name(ErrorCategory category) noexcept;

} // namespace pimint
