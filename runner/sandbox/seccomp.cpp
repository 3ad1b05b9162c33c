// Building the filter with libseccomp, then keeping only its BPF program: the child installs
// that with one prctl, which is async-signal-safe where libseccomp's loading is not.
#include "runner/sandbox/seccomp.h"

#include "core/error.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string_view>

namespace tr::runner {
namespace {

struct SeccompRelease {
    void operator()(void *context) const noexcept { seccomp_release(context); }
};
using SeccompContext = std::unique_ptr<void, SeccompRelease>;

// Refused outright: what changes the system, leaves the sandbox's namespaces, or reaches other
// processes' memory. Names the running architecture does not have are skipped.
constexpr const char *denied_calls[] = {
    "mount",
    "umount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "mount_setattr",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "init_module",
    "finit_module",
    "delete_module",
    "create_module",
    "query_module",
    "get_kernel_syms",
    "kexec_load",
    "kexec_file_load",
    "reboot",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "stime",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "keyctl",
    "add_key",
    "request_key",
    "open_by_handle_at",
    "name_to_handle_at",
    "lookup_dcookie",
    "quotactl",
    "quotactl_fd",
    "swapon",
    "swapoff",
    "acct",
    "syslog",
    "iopl",
    "ioperm",
    "vhangup",
    "sethostname",
    "setdomainname",
    "nfsservctl",
    "uselib",
    "_sysctl",
    "process_vm_readv",
    "process_vm_writev",
    // io_uring performs system calls of its own (sockets among them) that this filter never sees.
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
};

// Namespace flags of clone(2): a new user namespace would bring back every capability.
constexpr unsigned long namespace_flags[] = {CLONE_NEWNS,    CLONE_NEWUSER, CLONE_NEWPID,
                                             CLONE_NEWNET,   CLONE_NEWIPC,  CLONE_NEWUTS,
                                             CLONE_NEWCGROUP};

void check(int result, const char *what) {
    if (result < 0)
        throw Error(ErrorCode::InternalError,
                    system_error_text(std::string("seccomp: ") + what, -result));
}

// Calls newer than this libseccomp (2.5.4), by the number every architecture gives them.
constexpr struct {
    const char *name;
    int number;
} newer_calls[] = {{"fchmodat2", 452}};

void deny(void *context, const char *name, unsigned count = 0,
          const scmp_arg_cmp *conditions = nullptr) {
    int number = seccomp_syscall_resolve_name(name);
    for (const auto &newer : newer_calls)
        if (number == __NR_SCMP_ERROR && std::string_view(name) == newer.name)
            number = newer.number;
    if (number == __NR_SCMP_ERROR)
        return; // not on this architecture
    check(seccomp_rule_add_array(context, SCMP_ACT_ERRNO(EPERM), number, count, conditions), name);
}

// A condition on argument `index`: what libseccomp's SCMP_A0()... make, but those are C99
// compound literals, which C++ does not have (clang's -Wpedantic says so). MASKED_EQ takes the
// mask, then the value.
scmp_arg_cmp argument(unsigned index, scmp_compare op, scmp_datum_t datum_a,
                      scmp_datum_t datum_b = 0) {
    return scmp_arg_cmp{index, op, datum_a, datum_b};
}

void deny_when(void *context, const char *name, scmp_arg_cmp condition) {
    deny(context, name, 1, &condition);
}

// The calls that set a file's mode, and which argument holds it. Writable paths store what the
// sandbox user writes as the service's own (idmap.h): a setuid bit there would make a program
// that runs as root for whoever starts it.
struct ModeArgument {
    const char *call;
    unsigned argument;
};
constexpr ModeArgument mode_arguments[] = {
    {"chmod", 1}, {"fchmod", 1}, {"fchmodat", 2}, {"fchmodat2", 2}, {"open", 2},    {"openat", 3},
    {"creat", 1}, {"mkdir", 1},  {"mkdirat", 2},  {"mknod", 1},     {"mknodat", 2},
};

} // namespace

SeccompFilter::SeccompFilter(SeccompFilter &&other) noexcept
    : instructions_(std::move(other.instructions_)) {
    program_.len = static_cast<unsigned short>(instructions_.size());
    program_.filter = instructions_.data();
    other.program_ = {};
}

SeccompFilter &SeccompFilter::operator=(SeccompFilter &&other) noexcept {
    instructions_ = std::move(other.instructions_);
    program_.len = static_cast<unsigned short>(instructions_.size());
    program_.filter = instructions_.data();
    other.program_ = {};
    return *this;
}

SeccompFilter SeccompFilter::build(bool deny_sockets) {
    // A call of another architecture (i386 through int 0x80, x32) kills the process: the
    // default for architectures the filter was not built for.
    SeccompContext context(seccomp_init(SCMP_ACT_ALLOW));
    if (!context)
        throw Error(ErrorCode::InternalError, "seccomp: seccomp_init failed");
    void *ctx = context.get();
    for (const char *name : denied_calls)
        deny(ctx, name);
    for (const unsigned long flag : namespace_flags)
        deny_when(ctx, "clone", argument(0, SCMP_CMP_MASKED_EQ, flag, flag));
    // clone3 passes its flags in memory, out of a filter's reach: "not implemented" makes the
    // C library fall back to clone, which is checked above.
    check(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0), "clone3");
    // Tracing others: attaching. A process may still ask its parent to trace it.
    deny_when(ctx, "ptrace", argument(0, SCMP_CMP_EQ, PTRACE_ATTACH));
    deny_when(ctx, "ptrace", argument(0, SCMP_CMP_EQ, PTRACE_SEIZE));
    // Typing into a terminal another process reads; the request is an int, so only its low 32
    // bits count (higher ones must not slip past).
    for (const unsigned long request : {TIOCSTI, TIOCLINUX})
        deny_when(ctx, "ioctl", argument(1, SCMP_CMP_MASKED_EQ, 0xffffffffUL, request));
    for (const ModeArgument &call : mode_arguments)
        for (const unsigned long bit :
             {static_cast<unsigned long>(S_ISUID), static_cast<unsigned long>(S_ISGID)}) {
            deny_when(ctx, call.call, argument(call.argument, SCMP_CMP_MASKED_EQ, bit, bit));
        }
    // openat2 passes its mode in memory, out of a filter's reach: as for clone3.
    check(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(openat2), 0), "openat2");
    // vsock reaches the hypervisor, whatever network namespace the command is in.
    deny_when(ctx, "socket", argument(0, SCMP_CMP_EQ, AF_VSOCK));
    if (deny_sockets)
        deny_when(ctx, "socket", argument(0, SCMP_CMP_NE, AF_NETLINK));

    const UniqueFd exported(::memfd_create("task-runner-seccomp", MFD_CLOEXEC));
    if (!exported.valid())
        throw Error(ErrorCode::InternalError, system_error_text("memfd_create", errno));
    check(seccomp_export_bpf(ctx, exported.get()), "export");
    struct stat info {};
    if (::fstat(exported.get(), &info) != 0 || info.st_size <= 0 ||
        info.st_size % static_cast<off_t>(sizeof(sock_filter)) != 0)
        throw Error(ErrorCode::InternalError, "seccomp: the exported program has no whole size");
    SeccompFilter filter;
    filter.instructions_.resize(static_cast<std::size_t>(info.st_size) / sizeof(sock_filter));
    if (::pread(exported.get(), filter.instructions_.data(), static_cast<std::size_t>(info.st_size),
                0) != info.st_size)
        throw Error(ErrorCode::InternalError, system_error_text("seccomp: read back", errno));
    filter.program_.len = static_cast<unsigned short>(filter.instructions_.size());
    filter.program_.filter = filter.instructions_.data();
    return filter;
}

UniqueFd SeccompFilter::as_file() const {
    UniqueFd file(::memfd_create("task-runner-seccomp", MFD_CLOEXEC));
    if (!file.valid())
        throw Error(ErrorCode::InternalError, system_error_text("memfd_create", errno));
    const std::size_t bytes = instructions_.size() * sizeof(sock_filter);
    if (::write(file.get(), instructions_.data(), bytes) != static_cast<ssize_t>(bytes) ||
        ::lseek(file.get(), 0, SEEK_SET) != 0)
        throw Error(ErrorCode::InternalError,
                    system_error_text("seccomp: write the program", errno));
    return file;
}

} // namespace tr::runner
