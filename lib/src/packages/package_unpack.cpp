#include "packages/package_unpack.hpp"

#include "core/archive_handle.hpp"
#include "core/remove_on_exit.hpp"
#include "packages/deb_package.hpp"
#include "packages/dpkg_database.hpp"
#include "pimint/core/error.hpp"

#include <algorithm>
#include <archive_entry.h>
#include <cstdlib>
#include <fmt/format.h>
#include <memory>
#include <openssl/evp.h>
#include <set>
#include <unistd.h>
#include <vector>

namespace pimint {
namespace fs = std::filesystem;
namespace {

using EntryPtr = std::unique_ptr<archive_entry, decltype(&archive_entry_free)>;
using Md5Context = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

// "./usr/bin/x" -> "/usr/bin/x"; "./" -> "/". Refuses names that climb out of the root.
std::string image_path_of(std::string name, const fs::path& deb) {
    while (name.starts_with("./") || name.starts_with('/')) {
        name.erase(0, name.starts_with('/') ? 1 : 2);
    }
    while (name.ends_with('/')) {
        name.pop_back();
    }
    const fs::path p(name);
    if (std::find(p.begin(), p.end(), "..") != p.end()) {
        throw Error(
            ErrorCategory::io, deb.string(),
            fmt::format("refusing the entry '{}', which would land outside the image", name));
    }
    return "/" + name;
}

class UnpackArchive {
public:
    UnpackArchive(const fs::path& path, std::int64_t mtime)
        : path_(path)
        , mtime_(mtime) {
        archive_write_set_format_pax_restricted(out_.get());
        if (archive_write_open_filename(out_.get(), path.c_str()) != ARCHIVE_OK) {
            archive_fail(out_.get(), path, "cannot create the archive");
        }
    }

    // Adds an entry of a package's data under `image_path`, copying its data from `in`;
    // returns the MD5 of a regular file's content (as dpkg's md5sums list it), else "".
    std::string add_data(archive_entry* entry, archive* in, const std::string& image_path,
                         const fs::path& deb) {
        archive_entry_set_pathname(entry, image_path.substr(1).c_str());
        // Numeric owners: the appliance's own user names must not decide the image's.
        archive_entry_set_uname(entry, nullptr);
        archive_entry_set_gname(entry, nullptr);
        write_header(entry);
        ++files_;
        if (archive_entry_filetype(entry) != AE_IFREG || archive_entry_hardlink(entry)) {
            return {};
        }
        const Md5Context md5(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
        EVP_DigestInit_ex(md5.get(), EVP_md5(), nullptr);
        copy_entry_data(in, out_.get(), deb, [&](const char* data, std::size_t size) {
            EVP_DigestUpdate(md5.get(), data, size);
        });
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int length = 0;
        EVP_DigestFinal_ex(md5.get(), digest, &length);
        std::string hex;
        for (unsigned int i = 0; i < length; ++i) {
            hex += fmt::format("{:02x}", digest[i]);
        }
        return hex;
    }

    void add_file(const std::string& image_path, const std::string& content, std::uint32_t mode) {
        EntryPtr e(archive_entry_new(), &archive_entry_free);
        archive_entry_set_pathname(e.get(), image_path.substr(1).c_str());
        archive_entry_set_filetype(e.get(), AE_IFREG);
        archive_entry_set_perm(e.get(), mode);
        archive_entry_set_size(e.get(), static_cast<la_int64_t>(content.size()));
        archive_entry_set_mtime(e.get(), mtime_, 0);
        write_header(e.get());
        if (!content.empty() &&
            archive_write_data(out_.get(), content.data(), content.size()) < 0) {
            archive_fail(out_.get(), path_, "writing the archive failed");
        }
    }

    void close() {
        if (archive_write_close(out_.get()) != ARCHIVE_OK) {
            archive_fail(out_.get(), path_, "finishing the archive failed");
        }
    }

    std::uint64_t files() const noexcept { return files_; }

private:
    void write_header(archive_entry* e) {
        if (archive_write_header(out_.get(), e) != ARCHIVE_OK) {
            archive_fail(out_.get(), path_, "writing the archive failed");
        }
    }

    fs::path path_;
    std::int64_t mtime_;
    WriteArchive out_{archive_write_new()};
    std::uint64_t files_ = 0;
};

// Installed-Size is in KiB.
std::uint64_t installed_bytes(const DebPackage& deb) {
    return std::strtoull(deb.control.get("Installed-Size").c_str(), nullptr, 10) * 1024;
}

void check_room(ImageFs& fs, const std::vector<DebPackage>& debs) {
    std::uint64_t need = 0;
    for (const auto& d : debs) {
        need += installed_bytes(d);
    }
    const std::uint64_t free = fs.space("/").free_bytes;
    if (need > free) {
        throw Error(ErrorCategory::image, "/",
                    fmt::format("the packages need {} MiB, but the root filesystem has {} MiB "
                                "free; make it larger first with [image] grow = \"+{}M\"",
                                need >> 20, free >> 20, ((need - free) >> 20) + 64));
    }
}

} // namespace

UnpackedPackages unpack_packages(ImageFs& fs, const std::vector<ResolvedPackage>& packages,
                                 const fs::path& scratch, std::int64_t mtime) {
    UnpackedPackages result;
    std::vector<DebPackage> debs;
    for (const auto& p : packages) {
        debs.push_back(read_deb(p.deb));
    }
    check_room(fs, debs);
    const auto diversions =
        parse_diversions(fs.read_if_exists("/var/lib/dpkg/diversions").value_or(""));

    const fs::path tar = scratch / fmt::format("packages-{}.tar", ::getpid());
    const RemoveOnExit remove(tar);
    UnpackArchive out(tar, mtime);
    std::set<std::string> directories; // written, or found in the image
    std::vector<Stanza> status;
    for (const auto& deb : debs) {
        const auto conffiles = deb.conffiles();
        std::string list;
        // dpkg makes the md5sums of a package that ships none, conffiles left out.
        const bool make_md5sums = !deb.control_files.contains("md5sums");
        std::string md5sums;
        visit_deb_data(deb.file, [&](archive_entry* entry, archive* in) {
            const std::string path = image_path_of(archive_entry_pathname(entry), deb.file);
            list += (path == "/" ? "/." : path) + "\n";
            if (archive_entry_filetype(entry) == AE_IFDIR) {
                // dpkg leaves an existing directory (or a symlink standing for one, as
                // /lib in merged-/usr images) as it is.
                if (path == "/" || !directories.insert(path).second || fs.stat(path)) {
                    return;
                }
                out.add_data(entry, in, path, deb.file);
                return;
            }
            std::string target = diverted_path(diversions, path, deb.name());
            const bool conffile =
                std::find(conffiles.begin(), conffiles.end(), path) != conffiles.end();
            if (conffile) {
                target += ".dpkg-new"; // dpkg --configure installs it under its name
            }
            if (const char* link = archive_entry_hardlink(entry)) {
                const std::string linked = image_path_of(link, deb.file);
                archive_entry_set_hardlink(
                    entry, diverted_path(diversions, linked, deb.name()).substr(1).c_str());
            }
            const std::string md5 = out.add_data(entry, in, target, deb.file);
            if (make_md5sums && !md5.empty() && !conffile) {
                md5sums += md5 + "  " + path.substr(1) + "\n";
            }
        });
        const std::string info = std::string(dpkg_info_dir) + "/" + deb.database_name();
        for (const auto& [name, file] : deb.control_files) {
            out.add_file(info + "." + name, file.content, file.mode);
        }
        out.add_file(info + ".list", list, 0644);
        if (make_md5sums) {
            out.add_file(info + ".md5sums", md5sums, 0644);
        }
        status.push_back(unpacked_status(deb));
        result.database_names.push_back(deb.database_name());
        result.installed_bytes += installed_bytes(deb);
    }
    out.close();
    result.files = out.files();
    fs.tar_in(tar, "/");

    fs.write(dpkg_status_path, merge_status(fs.read(dpkg_status_path), status));
    std::vector<std::pair<std::string, std::string>> automatic;
    for (const auto& p : packages) {
        if (p.automatic) {
            automatic.emplace_back(p.name, p.architecture);
        }
    }
    if (!automatic.empty()) {
        fs.mkdir_p("/var/lib/apt");
        fs.write(
            apt_extended_states_path,
            mark_automatic(fs.read_if_exists(apt_extended_states_path).value_or(""), automatic));
    }
    return result;
}

} // namespace pimint
