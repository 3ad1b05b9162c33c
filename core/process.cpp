// fork/exec with a process group, resource limits, a scrubbed signal state, and exec failures
// reported to the parent. Between fork and exec only async-signal-safe calls are made: every
// string the child needs is prepared before the fork.
#include "core/process.h"

#include "core/error.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <thread>

extern char **environ;

namespace tr {
namespace {

std::vector<char *> c_strings(const std::vector<std::string> &strings) {
    std::vector<char *> pointers;
    pointers.reserve(strings.size() + 1);
    for (const std::string &s : strings)
        pointers.push_back(const_cast<char *>(s.c_str()));
    pointers.push_back(nullptr);
    return pointers;
}

void set_limit(int resource, const std::optional<unsigned long> &value) {
    if (!value)
        return;
    const rlimit limit{static_cast<rlim_t>(*value), static_cast<rlim_t>(*value)};
    ::setrlimit(resource, &limit); // lowering a limit only fails for invalid values; none here
}

// What a failed child reports through the close-on-exec pipe before it exits: errno, and the
// step (a literal, so the pointer means the same in the parent) or nullptr for exec itself.
struct ChildFailure {
    int error = 0;
    const char *step = nullptr;
};

constexpr std::size_t max_inherited_fds = 8;

[[noreturn]] void fail(int report, int error, const char *step) {
    const ChildFailure failure{error, step};
    ssize_t ignored = ::write(report, &failure, sizeof failure);
    (void)ignored; // the parent sees a short read either way
    ::_exit(127);
}

// The credentials of `identity` and no capability in any set, the bounding set included. The
// bounding set goes while we still hold CAP_SETPCAP; effective and permitted go with the uid.
int drop_to(const Identity &identity, const char **step) {
    *step = "setgroups";
    if (::setgroups(0, nullptr) != 0)
        return errno;
    *step = "setresgid";
    if (::setresgid(identity.gid, identity.gid, identity.gid) != 0)
        return errno;
    *step = "drop the capability bounding set";
    for (int cap = 0; cap <= 63; ++cap)
        if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
            return errno;
    *step = "clear ambient capabilities";
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
        return errno;
    *step = "setresuid";
    if (::setresuid(identity.uid, identity.uid, identity.uid) != 0)
        return errno;
    *step = "capset";
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    if (::syscall(SYS_capset, &header, data) != 0)
        return errno;
    return 0;
}

// In PID 1 of a new namespace: forks the program's process, which returns to exec it; this one
// reaps every orphan until the program ends, and ends with its status.
void become_reaper(int report) {
    const pid_t program = ::fork();
    if (program < 0)
        fail(report, errno, "fork the program under its reaper");
    if (program == 0)
        return;
    ::close(report); // the program's copy tells the parent whether exec worked
    for (int fd = 0; fd <= 2; ++fd)
        ::close(fd); // so the output pipes close when the program and its children do
    for (;;) {
        int raw = 0;
        const pid_t reaped = ::waitpid(-1, &raw, 0);
        if (reaped == program)
            ::_exit(WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw));
        if (reaped < 0 && errno != EINTR)
            ::_exit(127);
    }
}

// What the child works with between fork and exec, all of it made before the fork.
struct ChildSide {
    char *const *argv;
    char *const *envp;
    int report; // the close-on-exec pipe a failed step is reported through
    int out;    // with capture_output: the write ends of the stdout and stderr pipes
    int err;
    pid_t parent;
};

// The child's descriptors, moved above 3 + the inherited count, clear of their targets,
// whatever numbers the parent had free: handing on (dup2 to 3, 4, ...) overwrites none of them.
struct ChildFds {
    int report;
    int out;
    int err;
    int handed[max_inherited_fds];
    std::size_t inherited;
    int low; // the lowest number they may have
};

ChildFds move_clear_of_targets(const SpawnSpec &spec, const ChildSide &side) {
    ChildFds fds{};
    fds.inherited = std::min(spec.inherited_fds.size(), max_inherited_fds);
    fds.low = 3 + static_cast<int>(fds.inherited);
    fds.report = ::fcntl(side.report, F_DUPFD_CLOEXEC, fds.low);
    fds.out = side.out;
    fds.err = side.err;
    if (spec.capture_output) {
        fds.out = ::fcntl(side.out, F_DUPFD_CLOEXEC, fds.low);
        fds.err = ::fcntl(side.err, F_DUPFD_CLOEXEC, fds.low);
    }
    for (std::size_t i = 0; i < fds.inherited; ++i)
        fds.handed[i] = ::fcntl(spec.inherited_fds[i], F_DUPFD_CLOEXEC, fds.low);
    return fds;
}

void reset_signals() {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // Ignored signals stay ignored across exec (libfcgi ignores SIGPIPE); commands get defaults.
    for (int sig = 1; sig < NSIG; ++sig)
        if (sig != SIGKILL && sig != SIGSTOP)
            ::signal(sig, SIG_DFL);
}

void die_with(pid_t parent) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    // The parent died before prctl took effect. (In a new PID namespace the parent is outside
    // it and getppid() says 0; there the check cannot be made.)
    const pid_t now_parent = ::getppid();
    if (now_parent != parent && now_parent != 0)
        ::_exit(127);
}

void redirect_output(const ChildFds &fds) {
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0)
        ::dup2(null_fd, 0);
    ::dup2(fds.out, 1);
    ::dup2(fds.err, 2);
}

// The handed descriptors become 3, 4, ...; only they reach the command (with 0 to 2), the report
// pipe staying until exec closes it.
void hand_on(const ChildFds &fds) {
    for (std::size_t i = 0; i < fds.inherited; ++i)
        if (::dup2(fds.handed[i], 3 + static_cast<int>(i)) < 0) // dup2: open across exec
            fail(fds.report, errno, "hand on a descriptor");
    if (fds.report > fds.low)
        ::close_range(static_cast<unsigned>(fds.low), static_cast<unsigned>(fds.report) - 1, 0);
    ::close_range(static_cast<unsigned>(fds.report) + 1, ~0U, 0);
}

void set_limits(const ResourceLimits &limits) {
    set_limit(RLIMIT_CPU, limits.cpu_seconds);
    set_limit(RLIMIT_AS, limits.address_space_bytes);
    set_limit(RLIMIT_FSIZE, limits.file_size_bytes);
    set_limit(RLIMIT_NPROC, limits.processes);
}

// The spec's own step, then the network namespace.
void prepare(const SpawnSpec &spec, int report) {
    if (spec.prepare) {
        const char *step = "prepare";
        if (const int error = spec.prepare(spec.prepare_context, &step))
            fail(report, error, step);
    }
    if (spec.own_network_namespace && ::unshare(CLONE_NEWNET) != 0)
        fail(report, errno, "unshare the network namespace");
}

// In SpawnSpec's order: the working directory, the identity, and last no_new_privs and the
// seccomp filter.
void confine(const SpawnSpec &spec, int report) {
    if (!spec.working_directory.empty() && ::chdir(spec.working_directory.c_str()) != 0)
        fail(report, errno, "chdir");
    if (spec.run_as) {
        const char *step = "drop privileges";
        if (const int error = drop_to(*spec.run_as, &step))
            fail(report, error, step);
    }
    if (spec.seccomp) {
        if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
            fail(report, errno, "no_new_privs");
        if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, spec.seccomp) != 0)
            fail(report, errno, "install the seccomp filter");
    }
}

// Runs in the child: never returns. Reports a failed step through the report pipe. Each step
// is one of SpawnSpec's, in the order the header lists them.
[[noreturn]] void exec_child(const SpawnSpec &spec, const ChildSide &side) {
    // First of all, into the cgroups: whatever this child becomes is accounted and limited.
    for (const int procs : spec.join_cgroups)
        if (::write(procs, "0", 1) != 1)
            fail(side.report, errno, "join the cgroup");
    const ChildFds fds = move_clear_of_targets(spec, side);
    ::setpgid(0, 0);
    reset_signals();
    if (spec.die_with_parent)
        die_with(side.parent);
    if (spec.capture_output)
        redirect_output(fds);
    prepare(spec, fds.report);
    hand_on(fds);
    set_limits(spec.limits);
    confine(spec, fds.report);
    if (spec.own_pid_namespace && spec.reaper_as_init && ::getpid() == 1)
        become_reaper(fds.report);
    ::execve(side.argv[0], side.argv, side.envp);
    fail(fds.report, errno, nullptr);
}

// fork(), or a fork into a new PID namespace (clone(2) with fork semantics) when asked and
// permitted.
pid_t fork_child(bool own_pid_namespace) {
    if (own_pid_namespace) {
        const long pid =
            ::syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
        if (pid >= 0 || (errno != EPERM && errno != EINVAL && errno != ENOSPC && errno != EUSERS))
            return static_cast<pid_t>(pid);
    }
    return ::fork();
}

ExitStatus decode(int raw) {
    ExitStatus status;
    if (WIFEXITED(raw)) {
        status.code = WEXITSTATUS(raw);
    } else if (WIFSIGNALED(raw)) {
        status.signal = WTERMSIG(raw);
    }
    return status;
}

} // namespace

std::string ExitStatus::describe() const {
    if (exited())
        return "exit code " + std::to_string(code);
    return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
}

ChildProcess ChildProcess::spawn(const SpawnSpec &spec) {
    if (spec.argv.empty())
        throw Error(ErrorCode::InternalError, "spawn: empty argv");
    const std::string &program = spec.argv[0];
    std::vector<char *> argv = c_strings(spec.argv);
    std::vector<char *> envp =
        spec.environment ? c_strings(*spec.environment) : std::vector<char *>{};
    char *const *environment = spec.environment ? envp.data() : environ;

    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0)
        throw Error(ErrorCode::InternalError,
                    system_error_text("spawn " + program + ": pipe", errno));
    UniqueFd report_read(report[0]), report_write(report[1]);

    int out[2] = {-1, -1}, err[2] = {-1, -1};
    if (spec.capture_output && (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0))
        throw Error(ErrorCode::InternalError,
                    system_error_text("spawn " + program + ": pipe", errno));
    UniqueFd out_read(out[0]), out_write(out[1]), err_read(err[0]), err_write(err[1]);

    const pid_t parent = ::getpid();
    const pid_t pid = fork_child(spec.own_pid_namespace);
    if (pid < 0)
        throw Error(ErrorCode::InternalError,
                    system_error_text("spawn " + program + ": fork", errno));
    if (pid == 0)
        exec_child(spec, ChildSide{argv.data(), environment, report_write.get(), out_write.get(),
                                   err_write.get(), parent});

    // Also from the parent: the group exists before anyone signals it, whichever runs first.
    ::setpgid(pid, pid);
    ChildProcess child;
    child.pid_ = pid;
    report_write.reset();
    out_write.reset();
    err_write.reset();
    ChildFailure failure;
    ssize_t n;
    do {
        n = ::read(report_read.get(), &failure, sizeof failure);
    } while (n < 0 && errno == EINTR);
    if (n == sizeof failure) { // a step or exec failed; the child has exited with 127
        child.wait();
        throw Error(ErrorCode::InternalError,
                    system_error_text("spawn " + program +
                                          (failure.step ? std::string(": ") + failure.step : ""),
                                      failure.error));
    }
    child.stdout_ = std::move(out_read);
    child.stderr_ = std::move(err_read);
    return child;
}

ChildProcess::ChildProcess(ChildProcess &&other) noexcept
    : pid_(std::exchange(other.pid_, -1)), status_(other.status_),
      stdout_(std::move(other.stdout_)), stderr_(std::move(other.stderr_)) {}

ChildProcess &ChildProcess::operator=(ChildProcess &&other) noexcept {
    if (this != &other) {
        if (running())
            kill_group();
        pid_ = std::exchange(other.pid_, -1);
        status_ = other.status_;
        stdout_ = std::move(other.stdout_);
        stderr_ = std::move(other.stderr_);
    }
    return *this;
}

ChildProcess::~ChildProcess() {
    if (running())
        kill_group();
}

std::optional<ExitStatus> ChildProcess::poll() {
    if (status_ || pid_ <= 0)
        return status_;
    int raw = 0;
    const pid_t reaped = ::waitpid(pid_, &raw, WNOHANG);
    if (reaped == pid_)
        status_ = decode(raw);
    return status_;
}

std::optional<ExitStatus> ChildProcess::wait_for(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    // Polling keeps this free of SIGCHLD handling, which would belong to the whole process.
    auto pause = std::chrono::milliseconds(1);
    while (!poll()) {
        if (std::chrono::steady_clock::now() >= deadline)
            return std::nullopt;
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::milliseconds(20));
    }
    return status_;
}

ExitStatus ChildProcess::wait() {
    while (!status_ && pid_ > 0) {
        int raw = 0;
        const pid_t reaped = ::waitpid(pid_, &raw, 0);
        if (reaped == pid_)
            status_ = decode(raw);
        else if (reaped < 0 && errno != EINTR)
            status_ = ExitStatus{}; // ECHILD: someone else reaped it; nothing left to wait for
    }
    return status_.value_or(ExitStatus{});
}

void ChildProcess::signal_group(int signal) noexcept {
    // Also after the leader is reaped: its group lives on while any member does.
    if (pid_ > 0)
        ::kill(-pid_, signal);
}

ExitStatus ChildProcess::kill_group() noexcept {
    // The group, not the pid: `sh -c` forks, and the grandchild would outlive a plain kill.
    signal_group(SIGKILL);
    try {
        return wait();
    } catch (...) {
        return ExitStatus{};
    }
}

} // namespace tr
