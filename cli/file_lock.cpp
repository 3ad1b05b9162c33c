// flock-based run lock.
#include "cli/file_lock.h"

#include "core/error.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

namespace tr::cli {

std::optional<FileLock> FileLock::try_take(const std::string &path) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd.valid())
        throw Error(ErrorCode::InternalError, system_error_text("open lock file " + path, errno));
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            return std::nullopt;
        throw Error(ErrorCode::InternalError, system_error_text("flock " + path, errno));
    }
    // Who holds it, for the message of a run refused meanwhile; a failed write leaves the lock
    // held all the same, so its result is only a hint and not checked.
    const std::string holder = "pid " + std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd.get(), 0) == 0) {
        const ssize_t written = ::pwrite(fd.get(), holder.data(), holder.size(), 0);
        static_cast<void>(written);
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
