// The idmapping user namespace and the child's mount preparation (new mount API: open_tree,
// mount_setattr, move_mount): system calls only, as the child may make no others.
#include "runner/sandbox/idmap.h"

#include "core/error.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>

namespace tr::runner {
namespace {

void write_map(pid_t pid, const char *file, const std::string &line) {
    const std::string path = "/proc/" + std::to_string(pid) + "/" + file;
    const UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd.valid() ||
        ::write(fd.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size()))
        throw Error(ErrorCode::InternalError, system_error_text("write " + path, errno));
}

} // namespace

UniqueFd make_idmap_namespace(const Identity &sandbox_user) {
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) != 0)
        throw Error(ErrorCode::InternalError, system_error_text("pipe2", errno));
    UniqueFd ready_read(ready[0]), ready_write(ready[1]);
    const pid_t child = ::fork();
    if (child < 0)
        throw Error(ErrorCode::InternalError, system_error_text("fork", errno));
    if (child == 0) {
        // Waits, in its namespace, to be looked at and killed.
        const char done = ::unshare(CLONE_NEWUSER) == 0 ? 'y' : 'n';
        ssize_t ignored = ::write(ready_write.get(), &done, 1);
        (void)ignored;
        for (;;)
            ::pause();
    }
    ready_write.reset();
    struct Reaper { // the child goes whatever happens below
        pid_t pid;
        ~Reaper() {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
    } reaper{child};
    char done = 'n';
    if (::read(ready_read.get(), &done, 1) != 1 || done != 'y')
        throw Error(ErrorCode::InternalError, "unshare(CLONE_NEWUSER) failed in the idmap helper");
    write_map(child, "uid_map", "0 " + std::to_string(sandbox_user.uid) + " 1\n");
    write_map(child, "gid_map", "0 " + std::to_string(sandbox_user.gid) + " 1\n");
    const std::string ns = "/proc/" + std::to_string(child) + "/ns/user";
    UniqueFd fd(::open(ns.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid())
        throw Error(ErrorCode::InternalError, system_error_text("open " + ns, errno));
    return fd;
}

namespace {

// The steps of prepare_child_mounts, in the child between fork and exec: system calls only.
// Each returns 0, or errno with *step naming what failed.

constexpr std::size_t max_trees = 64;

// Detached idmapped clones, from the pinned descriptors, while they still belong to the mount
// namespace they were opened in.
int clone_idmapped(const ChildMounts &mounts, int (&trees)[max_trees], std::size_t count,
                   const char **step) {
    for (std::size_t i = 0; i < count; ++i) {
        *step = "open_tree a granted path";
        trees[i] = ::open_tree(mounts.idmapped_fds[i], "",
                               AT_EMPTY_PATH | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (trees[i] < 0)
            return errno;
        mount_attr attributes{};
        attributes.attr_set = MOUNT_ATTR_IDMAP;
        attributes.userns_fd = static_cast<unsigned long long>(mounts.idmap_namespace);
        *step = "idmap a granted path (mount_setattr)";
        if (::mount_setattr(trees[i], "", AT_EMPTY_PATH, &attributes, sizeof attributes) != 0)
            return errno;
    }
    return 0;
}

int enter_private_namespace(const char **step) {
    *step = "unshare the mount namespace";
    if (::unshare(CLONE_NEWNS) != 0)
        return errno;
    *step = "make the mounts private";
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
        return errno;
    return 0;
}

int move_idmapped(const ChildMounts &mounts, const int (&trees)[max_trees], std::size_t count,
                  const char **step) {
    for (std::size_t i = 0; i < count; ++i) {
        // Over the path as it is now: were it swapped for a link, the pinned directory would
        // land elsewhere in this namespace, never another directory here (bubblewrap's result
        // is checked before the command starts; see command.cpp).
        *step = "move_mount the idmapped path";
        if (::move_mount(trees[i], "", AT_FDCWD, mounts.idmapped[i].c_str(),
                         MOVE_MOUNT_F_EMPTY_PATH) != 0)
            return errno;
        ::close(trees[i]);
    }
    return 0;
}

// A read-only bind of `source` over `path`: two calls, as a bind cannot be made read-only at
// once.
int bind_read_only(const char *source, const char *path, unsigned long flags) {
    if (::mount(source, path, nullptr, MS_BIND | flags, nullptr) != 0 ||
        ::mount(nullptr, path, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0)
        return errno;
    return 0;
}

int protect(const ChildMounts &mounts, const char **step) {
    for (const std::string &path : mounts.hidden_files) {
        *step = "hide a protected file";
        if (const int error = bind_read_only("/dev/null", path.c_str(), 0))
            return error;
    }
    for (const std::string &path : mounts.hidden_directories) {
        *step = "hide a protected directory";
        if (::mount("tmpfs", path.c_str(), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                    "size=4k,mode=000") != 0)
            return errno;
    }
    for (const std::string &path : mounts.read_only) {
        *step = "make a protected path read-only";
        if (const int error = bind_read_only(path.c_str(), path.c_str(), MS_REC))
            return error;
    }
    return 0;
}

} // namespace

int prepare_child_mounts(const void *context, const char **step) noexcept {
    const ChildMounts &mounts = *static_cast<const ChildMounts *>(context);
    int trees[max_trees];
    const std::size_t count = std::min(mounts.idmapped_fds.size(), max_trees);
    if (const int error = clone_idmapped(mounts, trees, count, step))
        return error;
    if (const int error = enter_private_namespace(step))
        return error;
    if (const int error = move_idmapped(mounts, trees, count, step))
        return error;
    if (const int error = protect(mounts, step))
        return error;
    *step = "mount /proc";
    if (mounts.fresh_proc &&
        ::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
        return errno;
    return 0;
}

} // namespace tr::runner
