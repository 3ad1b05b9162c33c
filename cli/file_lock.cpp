// flock-based run lock.
#include "cli/file_lock.h"

#include "core/error.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

namespace tr::cli {

namespace {

// The file named by --lock may be anything, the tasks file itself included (the `flock -n "$0"`
// habit): it is opened without being truncated, and written only when it is ours to write.
UniqueFd open_lock_file(const std::string &path, bool &created) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    created = fd.valid();
    if (!fd.valid() && errno == EEXIST) {
        fd.reset(::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
        if (!fd.valid() && errno == EACCES) // a read-only file locks as well
            fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    }
    if (!fd.valid())
        throw Error(ErrorCode::InternalError, system_error_text("open lock file " + path, errno));
    return fd;
}

// Whether an existing file holds nothing of anyone's: empty, or only a holder line we wrote.
bool holds_only_a_holder(int fd) {
    struct stat info {};
    if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode))
        return false;
    if (info.st_size == 0)
        return true;
    char text[32];
    if (info.st_size >= static_cast<off_t>(sizeof text))
        return false;
    const ssize_t got = ::pread(fd, text, sizeof text, 0);
    if (got != info.st_size)
        return false;
    const std::string content(text, static_cast<std::size_t>(got));
    if (content.size() < 6 || content.compare(0, 4, "pid ") != 0 || content.back() != '\n')
        return false;
    const std::string digits = content.substr(4, content.size() - 5);
    return digits.find_first_not_of("0123456789") == std::string::npos;
}

} // namespace

std::optional<FileLock> FileLock::try_take(const std::string &path) {
    bool created = false;
    UniqueFd fd = open_lock_file(path, created);
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            return std::nullopt;
        throw Error(ErrorCode::InternalError, system_error_text("flock " + path, errno));
    }
    // Who holds it, for the message of a run refused meanwhile; a failed write leaves the lock
    // held all the same, so its result is only a hint and not checked.
    if (created || holds_only_a_holder(fd.get())) {
        const std::string holder = "pid " + std::to_string(::getpid()) + "\n";
        if (::ftruncate(fd.get(), 0) == 0) {
            const ssize_t written = ::pwrite(fd.get(), holder.data(), holder.size(), 0);
            static_cast<void>(written);
        }
    }
    return FileLock(std::move(fd), path);
}

std::string lock_holder(const std::string &path) {
    std::ifstream file(path);
    std::string line;
    std::getline(file, line);
    return line;
}

} // namespace tr::cli
