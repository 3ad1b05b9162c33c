// Pinning, waiting for bwrap to stop before exec, and comparing inodes through /proc/PID/root.
#include "runner/sandbox/sandbox_check.h"

#include "core/error.h"
#include "runner/sandbox/beneath.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <thread>

namespace tr::runner {
namespace {

using SteadyClock = std::chrono::steady_clock;

// `place` (absolute, as the sandbox names it) opened inside the sandbox's root, no link
// followed: a link there is itself a difference from the plan.
UniqueFd open_inside(int root, const std::string &place) {
    open_how how{};
    how.flags = O_PATH | O_CLOEXEC | O_NOFOLLOW;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    const std::string relative = place.size() > 1 ? place.substr(1) : ".";
    return UniqueFd(
        static_cast<int>(::syscall(SYS_openat2, root, relative.c_str(), &how, sizeof how)));
}

[[noreturn]] void differs(const std::string &place, const std::string &why) {
    throw Error(ErrorCode::InternalError,
                "the sandbox did not come out as planned: " + place + " " + why +
                    " (was a path swapped while it was built?); the command did not run");
}

bool same_inode(int a, int b) {
    struct stat first {
    }, second{};
    return ::fstat(a, &first) == 0 && ::fstat(b, &second) == 0 && first.st_dev == second.st_dev &&
           first.st_ino == second.st_ino;
}

// "0 0x6 ...": the system call the process is in, and its first argument.
bool blocked_reading(pid_t pid, int fd) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/syscall");
    long number = -1;
    std::string first;
    if (!(in >> number >> first))
        return false;
    std::ostringstream expected;
    expected << "0x" << std::hex << fd;
    return number == SYS_read && first == expected.str();
}

} // namespace

int PlannedSandbox::pinned(const std::string &path) const {
    for (const PlannedMount &mount : mounts)
        if (mount.place == path)
            return mount.pinned.get();
    return -1;
}

PlannedSandbox pin_layout(const SandboxLayout &layout) {
    PlannedSandbox plan;
    // What is mounted last at a place is what must be there (bubblewrap_command mounts each
    // place once, but the layout may name a place twice).
    const auto pin = [&](const std::string &path, bool read_only) {
        for (PlannedMount &mount : plan.mounts)
            if (mount.place == path) {
                mount.read_only = read_only;
                return;
            }
        plan.mounts.push_back({path, pin_path(path), read_only});
    };
    for (const std::string &path : layout.readable)
        pin(path, true);
    for (const std::string &path : layout.writable)
        pin(path, false);
    for (const std::string &path : layout.read_only)
        pin(path, true);
    plan.null_files = layout.hidden_files;
    plan.empty_directories = layout.hidden_directories;
    return plan;
}

std::optional<pid_t> read_sandbox_pid(int info_fd, SteadyClock::time_point deadline,
                                      const WaitingCallback &waiting) {
    std::string text;
    char buffer[512];
    while (SteadyClock::now() < deadline) {
        if (waiting)
            waiting();
        pollfd ready{info_fd, POLLIN, 0};
        if (::poll(&ready, 1, 50) <= 0)
            continue;
        const ssize_t n = ::read(info_fd, buffer, sizeof buffer);
        if (n <= 0)
            break; // bwrap closed it: everything it will say is in `text`
        text.append(buffer, static_cast<std::size_t>(n));
        if (text.find('}') != std::string::npos)
            break;
    }
    const std::size_t key = text.find("\"child-pid\":");
    if (key == std::string::npos)
        return std::nullopt;
    const long pid = std::strtol(text.c_str() + key + 12, nullptr, 10);
    return pid > 0 ? std::optional<pid_t>(static_cast<pid_t>(pid)) : std::nullopt;
}

bool wait_for_sandbox(pid_t pid, int block_fd, SteadyClock::time_point deadline,
                      const WaitingCallback &waiting) {
    const std::string proc = "/proc/" + std::to_string(pid);
    auto pause = std::chrono::microseconds(100);
    while (!blocked_reading(pid, block_fd)) {
        if (waiting)
            waiting();
        if (::access(proc.c_str(), F_OK) != 0 || SteadyClock::now() >= deadline)
            return false; // it failed to build the sandbox; its exit says why
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::microseconds(5000));
    }
    return true;
}

void check_sandbox(pid_t pid, const PlannedSandbox &plan) {
    const std::string proc = "/proc/" + std::to_string(pid);
    const UniqueFd root(::open((proc + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root.valid())
        throw Error(ErrorCode::InternalError, system_error_text("open " + proc + "/root", errno));
    for (const PlannedMount &mount : plan.mounts) {
        const UniqueFd there = open_inside(root.get(), mount.place);
        if (!there.valid() || !same_inode(there.get(), mount.pinned.get()))
            differs(mount.place, "does not hold the directory that was granted");
        struct statx info {};
        if (::statx(there.get(), "", AT_EMPTY_PATH, STATX_BASIC_STATS, &info) != 0 ||
            !(info.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) ||
            !(info.stx_attributes & STATX_ATTR_MOUNT_ROOT))
            differs(mount.place, "is not where its mount is");
        struct statvfs filesystem {};
        if (mount.read_only &&
            (::fstatvfs(there.get(), &filesystem) != 0 || !(filesystem.f_flag & ST_RDONLY)))
            differs(mount.place, "is not read-only");
    }
    for (const std::string &place : plan.null_files) {
        const UniqueFd there = open_inside(root.get(), place);
        struct stat info {};
        if (!there.valid() || ::fstat(there.get(), &info) != 0 || !S_ISCHR(info.st_mode) ||
            info.st_rdev != makedev(1, 3))
            differs(place, "is not masked");
    }
    for (const std::string &place : plan.empty_directories) {
        const UniqueFd there = open_inside(root.get(), place);
        struct statfs info {};
        if (!there.valid() || ::fstatfs(there.get(), &info) != 0 || info.f_type != TMPFS_MAGIC)
            differs(place, "is not masked");
    }
}

} // namespace tr::runner
