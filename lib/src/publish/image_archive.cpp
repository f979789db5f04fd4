#include "publish/image_archive.hpp"

#include "core/file_handle.hpp"
#include "pimint/core/error.hpp"
#include "pimint/core/interrupt.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <memory>
#include <thread>
#include <unistd.h>
#include <vector>

namespace pimint {
namespace {

using ArchivePtr = std::unique_ptr<archive, decltype(&archive_write_free)>;
using EntryPtr = std::unique_ptr<archive_entry, decltype(&archive_entry_free)>;

[[noreturn]] void fail(archive* a, const std::filesystem::path& path, const std::string& what) {
    const char* message = archive_error_string(a);
    throw Error(ErrorCategory::io, path.string(),
                fmt::format("{}: {}", what, message != nullptr ? message : "libarchive error"));
}

void set_option(archive* a, const std::filesystem::path& path, const char* module,
                const char* option, const char* value) {
    if (archive_write_set_filter_option(a, module, option, value) < ARCHIVE_WARN) {
        fail(a, path, fmt::format("setting {}:{}", module, option));
    }
}

} // namespace

ArchiveFormat parse_archive_format(const std::string& name) {
    if (name == "xz") {
        return ArchiveFormat::xz;
    }
    if (name == "zip") {
        return ArchiveFormat::zip;
    }
    if (name == "gz") {
        return ArchiveFormat::gz;
    }
    throw Error(ErrorCategory::usage, "--format",
                fmt::format("unknown format \"{}\"; use xz, zip or gz", name));
}

std::string archive_suffix(ArchiveFormat format) {
    switch (format) {
    case ArchiveFormat::xz:
        return ".img.xz";
    case ArchiveFormat::zip:
        return ".zip";
    case ArchiveFormat::gz:
        return ".img.gz";
    }
    return ".img.xz";
}

void write_image_archive(const std::filesystem::path& image, const std::filesystem::path& out,
                         const ImageArchiveOptions& options) {
    const FdHandle in(image, O_RDONLY);
    const auto size = std::filesystem::file_size(image);
    ArchivePtr a(archive_write_new(), &archive_write_free);
    if (!a) {
        throw Error(ErrorCategory::internal, out.string(), "libarchive: out of memory");
    }
    switch (options.format) {
    case ArchiveFormat::xz: {
        if (archive_write_set_format_raw(a.get()) != ARCHIVE_OK ||
            archive_write_add_filter_xz(a.get()) != ARCHIVE_OK) {
            fail(a.get(), out, "setting up xz");
        }
        const unsigned threads = options.threads > 0
                                     ? options.threads
                                     : std::max(1U, std::thread::hardware_concurrency());
        set_option(a.get(), out, "xz", "threads", std::to_string(threads).c_str());
        if (options.level) {
            set_option(a.get(), out, "xz", "compression-level",
                       std::to_string(*options.level).c_str());
        }
        break;
    }
    case ArchiveFormat::gz:
        if (archive_write_set_format_raw(a.get()) != ARCHIVE_OK ||
            archive_write_add_filter_gzip(a.get()) != ARCHIVE_OK) {
            fail(a.get(), out, "setting up gzip");
        }
        // No date in the gzip header: the same image gives the same bytes.
        set_option(a.get(), out, "gzip", "timestamp", nullptr);
        if (options.level) {
            set_option(a.get(), out, "gzip", "compression-level",
                       std::to_string(*options.level).c_str());
        }
        break;
    case ArchiveFormat::zip:
        if (archive_write_set_format_zip(a.get()) != ARCHIVE_OK ||
            archive_write_set_format_option(a.get(), "zip", "compression", "deflate") <
                ARCHIVE_WARN) {
            fail(a.get(), out, "setting up zip");
        }
        if (options.level && archive_write_set_format_option(
                                 a.get(), "zip", "compression-level",
                                 std::to_string(*options.level).c_str()) < ARCHIVE_WARN) {
            fail(a.get(), out, "setting zip:compression-level");
        }
        break;
    }
    // Whole blocks: libarchive's default pads the last block, which for a raw stream
    // is harmless but for the byte count we report would be noise.
    archive_write_set_bytes_in_last_block(a.get(), 1);
    if (archive_write_open_filename(a.get(), out.c_str()) != ARCHIVE_OK) {
        fail(a.get(), out, "cannot create the archive");
    }
    EntryPtr entry(archive_entry_new(), &archive_entry_free);
    archive_entry_set_pathname(entry.get(), options.entry_name.c_str());
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_perm(entry.get(), 0644);
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(size));
    archive_entry_set_mtime(entry.get(), options.mtime, 0);
    if (archive_write_header(a.get(), entry.get()) != ARCHIVE_OK) {
        fail(a.get(), out, "adding " + options.entry_name);
    }
    std::vector<char> buffer(4 << 20);
    std::uint64_t done = 0;
    while (done < size) {
        check_interrupted();
        const ssize_t n = ::pread(in.get(), buffer.data(), buffer.size(), static_cast<off_t>(done));
        if (n <= 0) {
            throw Error(ErrorCategory::io, image.string(), "read failed or the file shrank");
        }
        if (archive_write_data(a.get(), buffer.data(), static_cast<size_t>(n)) != n) {
            fail(a.get(), out, "compressing");
        }
        done += static_cast<std::uint64_t>(n);
    }
    if (archive_write_close(a.get()) != ARCHIVE_OK) {
        fail(a.get(), out, "finishing the archive");
    }
}

} // namespace pimint
