#include "core/tar_writer.hpp"

#include "pimint/core/error.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <memory>

namespace pimint {

TarWriter::TarWriter(std::filesystem::path path, std::uint32_t mode)
    : path_(std::move(path))
    , fd_(path_, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, static_cast<int>(mode))
    , a_(archive_write_new()) {
    if (a_ == nullptr) {
        throw Error(ErrorCategory::internal, path_.string(), "libarchive: out of memory");
    }
    if (archive_write_set_format_pax_restricted(a_) != ARCHIVE_OK ||
        archive_write_open_fd(a_, fd_.get()) != ARCHIVE_OK) {
        const std::string message =
            archive_error_string(a_) != nullptr ? archive_error_string(a_) : "";
        archive_write_free(a_);
        throw Error(ErrorCategory::io, path_.string(), "cannot create the archive: " + message);
    }
}

TarWriter::~TarWriter() {
    if (a_ != nullptr) {
        archive_write_free(a_);
    }
}

void TarWriter::fail(const std::string& what) const {
    const char* message = archive_error_string(a_);
    throw Error(ErrorCategory::io, path_.string(),
                what + ": " + (message != nullptr ? message : "unknown libarchive error"));
}

void TarWriter::add(const std::string& name, unsigned type, const TarEntryMeta& meta,
                    const std::string* content, const std::string* target) {
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> entry(archive_entry_new(),
                                                                        &archive_entry_free);
    archive_entry_set_pathname(entry.get(), name.c_str());
    archive_entry_set_filetype(entry.get(), type);
    archive_entry_set_perm(entry.get(), meta.mode);
    archive_entry_set_uid(entry.get(), meta.uid);
    archive_entry_set_gid(entry.get(), meta.gid);
    archive_entry_set_mtime(entry.get(), meta.mtime, 0);
    archive_entry_set_size(entry.get(),
                           content != nullptr ? static_cast<la_int64_t>(content->size()) : 0);
    if (target != nullptr) {
        archive_entry_set_symlink(entry.get(), target->c_str());
    }
    if (archive_write_header(a_, entry.get()) != ARCHIVE_OK) {
        fail("adding " + name);
    }
    if (content != nullptr && !content->empty() &&
        archive_write_data(a_, content->data(), content->size()) < 0) {
        fail("writing " + name);
    }
}

void TarWriter::add_file(const std::string& name, const std::string& content,
                         const TarEntryMeta& meta) {
    add(name, AE_IFREG, meta, &content, nullptr);
}

void TarWriter::add_directory(const std::string& name, const TarEntryMeta& meta) {
    add(name, AE_IFDIR, meta, nullptr, nullptr);
}

void TarWriter::add_symlink(const std::string& name, const std::string& target,
                            const TarEntryMeta& meta) {
    add(name, AE_IFLNK, meta, nullptr, &target);
}

void TarWriter::close() {
    if (archive_write_close(a_) != ARCHIVE_OK) {
        fail("finishing the archive");
    }
}

} // namespace pimint
