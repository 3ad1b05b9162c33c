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

namespace tr {

struct ResourceLimits {
    std::optional<unsigned long> cpu_seconds;         // RLIMIT_CPU
    std::optional<unsigned long> address_space_bytes; // RLIMIT_AS
    std::optional<unsigned long> file_size_bytes;     // RLIMIT_FSIZE
    std::optional<unsigned long> processes;           // RLIMIT_NPROC
};

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
    ResourceLimits limits;
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
