// Child processes with an owner. A ChildProcess leads its own process group (pid == pgid), so
// everything it starts can be signalled at once; destroying one that still runs kills the whole
// group and reaps the child, so no command and no component outlives the code that started it.
#pragma once

#include "core/unique_fd.h"

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

struct sock_fprog; // <linux/filter.h>: a seccomp program

namespace tr {

struct ResourceLimits {
    std::optional<unsigned long> cpu_seconds;         // RLIMIT_CPU
    std::optional<unsigned long> address_space_bytes; // RLIMIT_AS
    std::optional<unsigned long> file_size_bytes;     // RLIMIT_FSIZE
    std::optional<unsigned long> processes;           // RLIMIT_NPROC
};

// The uid and gid a child drops to (SpawnSpec::run_as).
struct Identity {
    uid_t uid = 0;
    gid_t gid = 0;
};

// A step of the child's own between fork and exec: only async-signal-safe calls on data made
// before the fork. Returns 0, or an errno value with *step naming what failed (a literal).
using PrepareChild = int (*)(const void *context, const char **step) noexcept;

struct SpawnSpec {
    std::vector<std::string> argv;                       // argv[0] is a path (no PATH search)
    std::optional<std::vector<std::string>> environment; // "NAME=value"; nullopt inherits ours
    std::string working_directory;                       // empty: ours
    bool capture_output = false;  // stdout and stderr into pipes (stdin is /dev/null then)
    bool die_with_parent = false; // SIGKILL when the spawning thread exits (PR_SET_PDEATHSIG)
    // The child becomes PID 1 of a new PID namespace, so when it dies the kernel kills every
    // process it started, even those it did not start in its own group (nginx's workers).
    // Needs CAP_SYS_ADMIN; without it the child is spawned plainly.
    bool own_pid_namespace = false;
    // With own_pid_namespace: PID 1 is a small reaper that waits for the program (PID 2) and
    // exits with its status (a signal as 128 + N, as shells report it), so the program can be
    // signalled like any process; when PID 1 exits, everything in the namespace dies.
    bool reaper_as_init = false;
    ResourceLimits limits;

    // In the order the child takes them, all before exec:
    std::vector<int> join_cgroups;  // cgroup.procs files open for writing: "0" goes to each, so
                                    // nothing the child starts is ever outside them
    std::vector<int> inherited_fds; // become descriptors 3, 4, ... of the child
    PrepareChild prepare = nullptr; // then this, with prepare_context
    const void *prepare_context = nullptr;
    bool own_network_namespace = false;  // needs CAP_SYS_ADMIN: only loopback, down
    std::optional<Identity> run_as;      // needs root: no groups and no capabilities in any set
    const sock_fprog *seccomp = nullptr; // last: no_new_privs, then this filter
};

struct ExitStatus {
    int code = -1;  // exit code when it exited
    int signal = 0; // the signal that killed it, or 0
    bool exited() const noexcept { return signal == 0; }
    std::string describe() const; // "exit code 2", "killed by signal 9 (Killed)"
};

class ChildProcess {
public:
    // Throws Error(InternalError) naming the program when it cannot be started (including a
    // failed exec, reported back through a close-on-exec pipe).
    static ChildProcess spawn(const SpawnSpec &spec);

    ChildProcess() = default;
    ChildProcess(ChildProcess &&other) noexcept;
    ChildProcess &operator=(ChildProcess &&other) noexcept;
    ChildProcess(const ChildProcess &) = delete;
    ChildProcess &operator=(const ChildProcess &) = delete;
    ~ChildProcess();

    pid_t pid() const noexcept { return pid_; }
    bool running() const noexcept { return pid_ > 0 && !status_; }

    // Read ends of the captured stdout and stderr (invalid unless capture_output).
    UniqueFd &stdout_pipe() noexcept { return stdout_; }
    UniqueFd &stderr_pipe() noexcept { return stderr_; }

    // Reaps the child if it has exited; never blocks.
    std::optional<ExitStatus> poll();
    // Waits up to `limit` for the child to exit.
    std::optional<ExitStatus> wait_for(std::chrono::milliseconds limit);
    ExitStatus wait();

    // Sends a signal to the whole process group, including members that outlived the leader.
    void signal_group(int signal) noexcept;
    // SIGKILL to the group, then reap the child.
    ExitStatus kill_group() noexcept;

private:
    pid_t pid_ = -1;
    std::optional<ExitStatus> status_;
    UniqueFd stdout_;
    UniqueFd stderr_;
};

} // namespace tr
