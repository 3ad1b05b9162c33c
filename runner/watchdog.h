// The watchdog: a small process beside the runner that kills the runner's commands when the
// runner stops renewing its leases — frozen (SIGSTOP), stuck on a hung disk, or dead — so that
// no command outlives its attempt's lease, and none is still running when recovery hands the
// task to another attempt.
//
// The runner tells it, through a pipe, each command it starts (the command's leader and its
// control group) and ends, and beats after every heartbeat that renewed its leases. When no
// beat came for `timeout` (shorter than the lease), the watchdog kills every command it knows
// of; when the pipe closes (the runner exited or was killed), it kills them all and exits.
//
// Killing is safe against reused pids: the watchdog holds a pidfd for each leader and signals
// the leader's process group only while that very process is alive; the control group, made
// for one command only, is killed by its own files.
#pragma once

#include "core/log.h"
#include "core/process.h"
#include "core/unique_fd.h"
#include "runner/sandbox/cgroup.h"

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <string>

namespace tr::runner {

class Watchdog {
public:
    class Watch;

    // Starts `program --watchdog FD --timeout-ms N`. Throws Error(InternalError).
    Watchdog(const std::string &program, std::chrono::milliseconds timeout);
    Watchdog(const Watchdog &) = delete;
    Watchdog &operator=(const Watchdog &) = delete;
    ~Watchdog(); // closes the pipe: the watchdog kills what is left and exits

    // The runner renewed its leases just now.
    void beat() const noexcept;
    // Until the Watch goes: kill `leader`'s process group and `group` if the beats stop.
    Watch watch(pid_t leader, const CgroupKillPaths &group) const;

    std::chrono::milliseconds timeout() const noexcept { return timeout_; }

private:
    void send(const std::string &line) const noexcept;

    std::chrono::milliseconds timeout_;
    UniqueFd pipe_;
    ChildProcess process_;
    mutable std::atomic<unsigned long long> next_id_{1};
};

class Watchdog::Watch {
public:
    Watch(const Watchdog *watchdog, unsigned long long id) : watchdog_(watchdog), id_(id) {}
    Watch(Watch &&other) noexcept : watchdog_(other.watchdog_), id_(other.id_) {
        other.watchdog_ = nullptr;
    }
    Watch &operator=(Watch &&) = delete;
    Watch(const Watch &) = delete;
    Watch &operator=(const Watch &) = delete;
    ~Watch();

private:
    const Watchdog *watchdog_;
    unsigned long long id_;
};

// The watchdog process's own loop, reading the runner's pipe on `fd`; returns its exit status.
int run_watchdog(int fd, std::chrono::milliseconds timeout, const Log &log);

} // namespace tr::runner
