// openat2-based opening beneath a root, with a plain O_NOFOLLOW fallback for kernels before 5.6.
#include "runner/sandbox/beneath.h"

#include "core/error.h"
#include "core/paths.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace tr::runner {
namespace {

// The longest allowed root that contains the path.
const std::string &root_of(const std::string &resolved, const std::vector<std::string> &roots) {
    const std::string *best = nullptr;
    for (const std::string &root : roots)
        if (is_within(resolved, root) && (!best || root.size() > best->size()))
            best = &root;
    if (!best)
        throw Error(ErrorCode::InvalidRequest,
                    "path \"" + resolved + "\" is outside the allowed paths");
    return *best;
}

std::string relative_to(const std::string &resolved, const std::string &root) {
    if (resolved.size() == root.size())
        return ".";
    return resolved.substr(root == "/" ? 1 : root.size() + 1);
}

int openat2_beneath(int dir_fd, const std::string &path, int flags, mode_t mode) {
    open_how how{};
    how.flags = static_cast<unsigned long long>(flags | O_CLOEXEC);
    how.mode = (flags & O_CREAT) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    return static_cast<int>(::syscall(SYS_openat2, dir_fd, path.c_str(), &how, sizeof how));
}

[[noreturn]] void throw_open_error(const std::string &resolved, int error) {
    if (error == EXDEV || error == ELOOP)
        throw Error(ErrorCode::InvalidRequest, "path \"" + resolved +
                                                   "\" changed into a symbolic link while it was "
                                                   "being used; refused");
    throw Error(ErrorCode::InvalidRequest, system_error_text("open " + resolved, error));
}

UniqueFd open_root(const std::string &root) {
    UniqueFd fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid())
        throw Error(ErrorCode::InvalidRequest, system_error_text("open " + root, errno));
    return fd;
}

} // namespace

UniqueFd pin_path(const std::string &absolute) {
    open_how how{};
    how.flags = O_PATH | O_CLOEXEC | O_NOFOLLOW;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    const int fd =
        static_cast<int>(::syscall(SYS_openat2, AT_FDCWD, absolute.c_str(), &how, sizeof how));
    if (fd < 0)
        throw Error(ErrorCode::InvalidRequest,
                    system_error_text("the granted path " + absolute +
                                          " is not what it was (a symbolic link now, or gone)",
                                      errno));
    return UniqueFd(fd);
}

UniqueFd open_beneath(const std::string &resolved, const std::vector<std::string> &roots, int flags,
                      mode_t mode) {
    const std::string &root = root_of(resolved, roots);
    const UniqueFd root_fd = open_root(root);
    const int fd = openat2_beneath(root_fd.get(), relative_to(resolved, root), flags, mode);
    if (fd >= 0)
        return UniqueFd(fd);
    if (errno != ENOSYS)
        throw_open_error(resolved, errno);
    // No openat2: the user-space check stands alone; at least never follow a final symlink.
    const int plain = ::open(resolved.c_str(), flags | O_CLOEXEC | O_NOFOLLOW, mode);
    if (plain < 0)
        throw_open_error(resolved, errno);
    return UniqueFd(plain);
}

void make_directories_beneath(const std::string &resolved, const std::vector<std::string> &roots) {
    const std::string &root = root_of(resolved, roots);
    UniqueFd dir = open_root(root);
    const std::string relative = relative_to(resolved, root);
    if (relative == ".")
        return;
    std::size_t start = 0;
    while (start < relative.size()) {
        std::size_t slash = relative.find('/', start);
        if (slash == std::string::npos)
            slash = relative.size();
        const std::string component = relative.substr(start, slash - start);
        start = slash + 1;
        if (component.empty())
            continue;
        if (::mkdirat(dir.get(), component.c_str(), 0755) != 0 && errno != EEXIST)
            throw Error(
                ErrorCode::InvalidRequest,
                system_error_text("mkdir " + root + "/" + relative.substr(0, slash), errno));
        int next = openat2_beneath(dir.get(), component, O_PATH | O_DIRECTORY, 0);
        if (next < 0 && errno == ENOSYS)
            next = ::openat(dir.get(), component.c_str(),
                            O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0)
            throw_open_error(resolved, errno);
        dir = UniqueFd(next);
    }
}

} // namespace tr::runner
