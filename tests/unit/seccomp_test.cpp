// runner/sandbox/seccomp: the filter, installed in a real child as a command gets it, refuses
// what no task needs and allows the rest.
#include "runner/sandbox/seccomp.h"

#include "test_support.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <functional>
#include <vector>

namespace tr::runner {
namespace {

// What `attempt` returns (an errno, or 0) in a child under the filter; -SIGNAL when the kernel
// killed the child instead.
int under_filter(const SeccompFilter &filter, const std::function<int()> &attempt) {
    const pid_t child = ::fork();
    if (child == 0) {
        if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
            ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, filter.program()) != 0)
            ::_exit(255);
        ::_exit(attempt());
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    return WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
}

int error_of(long result) {
    return result < 0 ? errno : 0;
}

const SeccompFilter &filter() {
    static const SeccompFilter built = SeccompFilter::build(false);
    return built;
}

TEST(Seccomp, RefusesMountingAndNamespaces) {
    EXPECT_EQ(under_filter(filter(),
                           [] { return error_of(::mount("none", "/tmp", "tmpfs", 0, nullptr)); }),
              EPERM);
    EXPECT_EQ(under_filter(filter(), [] { return error_of(::umount2("/tmp", 0)); }), EPERM);
    EXPECT_EQ(under_filter(filter(), [] { return error_of(::unshare(CLONE_NEWUSER)); }), EPERM);
    EXPECT_EQ(under_filter(filter(), [] { return error_of(::unshare(CLONE_NEWNS)); }), EPERM);
    EXPECT_EQ(under_filter(filter(), [] { return error_of(::setns(0, 0)); }), EPERM);
    EXPECT_EQ(under_filter(filter(), [] { return error_of(::chroot("/")); }), EPERM);
}

TEST(Seccomp, RefusesCloneIntoANewNamespaceButNotAPlainFork) {
    for (const unsigned long flag : {CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET}) {
        EXPECT_EQ(under_filter(filter(),
                               [flag] {
                                   return error_of(::syscall(SYS_clone, flag | SIGCHLD, nullptr,
                                                             nullptr, nullptr, nullptr));
                               }),
                  EPERM)
            << flag;
    }
    EXPECT_EQ(under_filter(filter(),
                           [] {
                               const pid_t pid = ::fork();
                               if (pid == 0)
                                   ::_exit(0);
                               return pid > 0 ? 0 : errno;
                           }),
              0);
    // clone3 hides its flags from filters: "not implemented", so libc falls back to clone.
    EXPECT_EQ(under_filter(filter(), [] { return error_of(::syscall(SYS_clone3, nullptr, 0)); }),
              ENOSYS);
}

TEST(Seccomp, RefusesTheKernelAndTheClock) {
    EXPECT_EQ(
        under_filter(filter(), [] { return error_of(::syscall(SYS_init_module, nullptr, 0, "")); }),
        EPERM);
    EXPECT_EQ(
        under_filter(filter(), [] { return error_of(::syscall(SYS_finit_module, -1, "", 0)); }),
        EPERM);
    EXPECT_EQ(under_filter(filter(),
                           [] { return error_of(::syscall(SYS_kexec_load, 0, 0, nullptr, 0)); }),
              EPERM);
    EXPECT_EQ(
        under_filter(filter(), [] { return error_of(::syscall(SYS_reboot, 0, 0, 0, nullptr)); }),
        EPERM);
    EXPECT_EQ(under_filter(filter(),
                           [] { return error_of(::syscall(SYS_settimeofday, nullptr, nullptr)); }),
              EPERM);
    EXPECT_EQ(
        under_filter(filter(), [] { return error_of(::syscall(SYS_clock_settime, 0, nullptr)); }),
        EPERM);
    EXPECT_EQ(under_filter(filter(), [] { return error_of(::syscall(SYS_bpf, 0, nullptr, 0)); }),
              EPERM);
    EXPECT_EQ(under_filter(filter(), [] { return error_of(::syscall(SYS_syslog, 3, nullptr, 0)); }),
              EPERM);
    EXPECT_EQ(under_filter(filter(), [] { return error_of(::syscall(SYS_keyctl, 0, 0, 0, 0, 0)); }),
              EPERM);
    EXPECT_EQ(
        under_filter(filter(), [] { return error_of(::syscall(SYS_io_uring_setup, 1, nullptr)); }),
        EPERM);
    EXPECT_EQ(under_filter(
                  filter(),
                  [] { return error_of(::syscall(SYS_perf_event_open, nullptr, 0, -1, -1, 0)); }),
              EPERM);
}

TEST(Seccomp, RefusesAttachingToAnotherProcessAndTiocsti) {
    EXPECT_EQ(under_filter(filter(), [] { return error_of(::ptrace(PTRACE_ATTACH, 1, 0, 0)); }),
              EPERM);
    EXPECT_EQ(under_filter(filter(), [] { return error_of(::ptrace(PTRACE_SEIZE, 1, 0, 0)); }),
              EPERM);
    // The request is an int: bits above 32 must not slip a TIOCSTI past the filter.
    EXPECT_EQ(
        under_filter(filter(), [] { return error_of(::syscall(SYS_ioctl, 0, TIOCSTI, "x")); }),
        EPERM);
    EXPECT_EQ(
        under_filter(filter(),
                     [] { return error_of(::syscall(SYS_ioctl, 0, (1UL << 32) | TIOCSTI, "x")); }),
        EPERM);
    // Other ioctls are left alone (ENOTTY on a pipe, not EPERM).
    EXPECT_EQ(under_filter(filter(),
                           [] {
                               int fds[2];
                               if (::pipe(fds) != 0)
                                   return errno;
                               int size = 0;
                               return error_of(::ioctl(fds[0], FIONREAD, &size));
                           }),
              0);
}

// Regression: writable paths store the sandbox user's files as the service's (root's), so a
// command made a setuid-root program with chmod 4755.
TEST(Seccomp, RefusesSetuidAndSetgidBits) {
    test::TempDir dir;
    const std::string file = dir.write("program", "#!/bin/sh\n");
    const std::string made = dir / "made";
    EXPECT_EQ(under_filter(filter(), [&] { return error_of(::chmod(file.c_str(), 04755)); }),
              EPERM);
    EXPECT_EQ(under_filter(filter(), [&] { return error_of(::chmod(file.c_str(), 02755)); }),
              EPERM);
    EXPECT_EQ(under_filter(filter(),
                           [&] {
                               const int fd = ::open(file.c_str(), O_RDONLY);
                               return error_of(::fchmod(fd, 04711));
                           }),
              EPERM);
    EXPECT_EQ(
        under_filter(
            filter(),
            [&] { return error_of(::syscall(SYS_fchmodat, AT_FDCWD, file.c_str(), 06755, 0)); }),
        EPERM);
    EXPECT_EQ(
        under_filter(filter(),
                     [&] { return error_of(::syscall(452, AT_FDCWD, file.c_str(), 04755, 0)); }),
        EPERM); // fchmodat2, newer than libseccomp 2.5
    EXPECT_EQ(
        under_filter(filter(),
                     [&] { return error_of(::open(made.c_str(), O_CREAT | O_WRONLY, 04755)); }),
        EPERM);
    EXPECT_EQ(under_filter(filter(), [&] { return error_of(::mkdir((dir / "d").c_str(), 02777)); }),
              EPERM);
    EXPECT_FALSE(test::exists(made));
    // Plain modes stay possible.
    EXPECT_EQ(under_filter(filter(), [&] { return error_of(::chmod(file.c_str(), 0755)); }), 0);
    EXPECT_EQ(
        under_filter(filter(),
                     [&] { return error_of(::open(made.c_str(), O_CREAT | O_WRONLY, 0644)); }),
        0);
}

TEST(Seccomp, RefusesVsockAndHidesOpenat2) {
    EXPECT_EQ(under_filter(filter(), [] { return error_of(::socket(AF_VSOCK, SOCK_STREAM, 0)); }),
              EPERM);
    EXPECT_EQ(
        under_filter(filter(),
                     [] { return error_of(::syscall(SYS_openat2, AT_FDCWD, "/", nullptr, 0)); }),
        ENOSYS);
}

TEST(Seccomp, AnotherArchitecturesCallKillsTheProcess) {
    // An x32 system call: the same architecture token, the number with bit 30 set.
    EXPECT_EQ(under_filter(filter(), [] { return error_of(::syscall(0x40000000 | SYS_getpid)); }),
              -SIGSYS);
}

TEST(Seccomp, OrdinaryWorkGoesOn) {
    EXPECT_EQ(under_filter(filter(),
                           [] {
                               const int fd = ::open("/dev/null", O_RDONLY);
                               return fd >= 0 && ::close(fd) == 0 && ::getpid() > 0 ? 0 : 1;
                           }),
              0);
    EXPECT_EQ(under_filter(filter(), [] { return error_of(::socket(AF_INET, SOCK_STREAM, 0)); }),
              0);
}

TEST(Seccomp, WithoutANetworkNamespaceSocketsAreRefusedButNetlink) {
    const SeccompFilter no_network = SeccompFilter::build(true);
    for (const int family : {AF_INET, AF_INET6, AF_UNIX, AF_PACKET})
        EXPECT_EQ(under_filter(no_network,
                               [family] { return error_of(::socket(family, SOCK_STREAM, 0)); }),
                  EPERM)
            << family;
    EXPECT_EQ(under_filter(no_network, [] { return error_of(::socket(AF_NETLINK, SOCK_RAW, 0)); }),
              0);
    // A pair of connected sockets reaches nothing outside: still there.
    EXPECT_EQ(under_filter(no_network,
                           [] {
                               int pair[2];
                               return error_of(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair));
                           }),
              0);
}

TEST(Seccomp, AsAFileItIsTheSameProgramFromTheStart) {
    const UniqueFd file = filter().as_file();
    std::vector<sock_filter> read_back(filter().program()->len);
    const auto bytes = static_cast<ssize_t>(read_back.size() * sizeof(sock_filter));
    ASSERT_EQ(::read(file.get(), read_back.data(), static_cast<std::size_t>(bytes) + 1), bytes);
    EXPECT_EQ(
        std::memcmp(read_back.data(), filter().program()->filter, static_cast<std::size_t>(bytes)),
        0);
}

} // namespace
} // namespace tr::runner
