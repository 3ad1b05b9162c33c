// Ownership and mode checks on the user's own files, made on the descriptor that is then read.
#include "cli/trusted_file.h"

#include "cli/usage_error.h"
#include "core/error.h"
#include "core/paths.h"
#include "core/unique_fd.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace tr::cli {
namespace {

bool owned_by_us_or_root(const struct stat &info) {
    return info.st_uid == ::geteuid() || info.st_uid == 0;
}

std::string owner_text(const struct stat &info) {
    return "is owned by uid " + std::to_string(info.st_uid) + ", not by you (uid " +
           std::to_string(::geteuid()) + ") or root";
}

} // namespace

std::string untrusted_directory(const struct stat &directory) {
    if (!S_ISDIR(directory.st_mode))
        return "is not a directory";
    if (!owned_by_us_or_root(directory))
        return owner_text(directory);
    if ((directory.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (directory.st_mode & S_ISVTX) == 0)
        return "is writable by others (chmod go-w)";
    return "";
}

std::string untrusted_file(const struct stat &file) {
    if (!S_ISREG(file.st_mode))
        return "is not a regular file";
    if (!owned_by_us_or_root(file))
        return owner_text(file);
    if ((file.st_mode & (S_IWGRP | S_IWOTH)) != 0)
        return "is writable by others (chmod go-w)";
    return "";
}

std::optional<TrustedContent> read_trusted_file(const std::string &path) {
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    if (!fd.valid()) {
        if (errno == ENOENT)
            return std::nullopt;
        if (errno == ELOOP)
            throw InputError(path + " is a symbolic link; not trusted, not read");
        throw InputError(system_error_text("open " + path, errno));
    }
    struct stat file {};
    if (::fstat(fd.get(), &file) != 0)
        throw InputError(system_error_text("fstat " + path, errno));
    if (const std::string why = untrusted_file(file); !why.empty())
        throw InputError(path + " " + why + "; not trusted, not read");
    const std::string directory_path = parent_directory(absolute_path(path, current_directory()));
    struct stat directory {};
    if (::stat(directory_path.c_str(), &directory) != 0)
        throw InputError(system_error_text("stat " + directory_path, errno));
    if (const std::string why = untrusted_directory(directory); !why.empty())
        throw InputError(path + " is in " + directory_path + ", which " + why +
                         "; not trusted, not read");
    TrustedContent content;
    content.mode = file.st_mode & 07777;
    char buffer[4096];
    for (;;) {
        const ssize_t got = ::read(fd.get(), buffer, sizeof buffer);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            throw InputError(system_error_text("read " + path, errno));
        if (got == 0)
            return content;
        content.text.append(buffer, static_cast<std::size_t>(got));
    }
}

} // namespace tr::cli
