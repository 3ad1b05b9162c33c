// The runner process: one supervisor thread and max_concurrent_tasks worker threads, each with
// its own SQLite connection for reads, and one group committer through which all of them write,
// so the runner's writes share transactions (see core/group_commit.h).
//
// The supervisor claims tasks only while a worker is idle (so a claimed task never waits in
// memory), renews each attempt's lease with the heartbeat while its worker shows it is alive,
// stops an attempt whose lease is gone, recovers tasks of dead runners, and delivers
// cancellations. It looks for work at each poll tick, when a worker finishes (its task may have
// freed the next of a sequential batch), and when the wake-up channel (core/wake_channel.h)
// says a task was queued on this host; a look that found nothing is not repeated before one
// of those. When the database cannot be written (a full disk, an I/O error) it stops
// claiming and backs off, and resumes by itself once writes succeed again. On SIGTERM it stops
// claiming, lets running tasks finish for the grace period, then stops the rest and gives them
// back to the queue: nothing is lost.
#pragma once

#include "core/config.h"
#include "core/group_commit.h"
#include "core/log.h"
#include "core/process_stats.h"
#include "core/unique_fd.h"
#include "core/wake_channel.h"
#include "runner/claim.h"
#include "runner/run_task.h"
#include "runner/sandbox/sandbox.h"
#include "runner/task_control.h"
#include "runner/wake_relay.h"
#include "runner/watchdog.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace tr::runner {

class Runner {
public:
    Runner(const Config &config, const Log &log, const Sandbox &sandbox, const Watchdog &watchdog);

    // Runs until one of `stop_signals` arrives (the caller blocks them in every thread first)
    // or request_stop() is called; returns the process exit status. Either way the shutdown is
    // the same: no more claims, running tasks finish within the grace period, the rest go back
    // to the queue.
    int run(const sigset_t &stop_signals);
    // Runs until request_stop() is called: a runner embedded in another program.
    int run();

    // Ends run(), from any thread, also before run() has started (it then stops at once);
    // async-signal-safe.
    void request_stop() noexcept;

private:
    // What stopped the runner, for the log: a signal's name or "stop requested".
    std::string wait_for_stop(const UniqueFd &signals);
    int run_until_stopped(const sigset_t *stop_signals);
    // After every thread has ended: gives the claimed tasks no worker started back to the queue
    // and records the runner stopped.
    void record_stop(std::deque<ClaimedTask> unstarted);
    void supervise();
    void work();
    // Claims as many tasks as workers are idle, in one statement.
    void claim_while_idle(Db &db);
    bool time_to_look(bool poll_due);
    bool supervisor_has_work() const; // the supervisor's wait predicate; mutex_ held
    void listen_for_wakes(std::optional<WakeRelay> &relay);
    void note_wake();
    void note_requeued();
    void deliver_cancellations(Db &db);
    void heartbeat(ProcessStats &stats);
    void renew_leases(Db &writer, TimePoint lease_until);
    void register_control(const AttemptClaim &claim, std::shared_ptr<TaskControl> control);
    void note_write_failure(const std::exception &e);
    void note_writes_succeed();

    const Config &config_;
    const Log &log_;
    const Sandbox &sandbox_;
    const Watchdog &watchdog_;
    std::string id_;
    UniqueFd stop_requests_; // an eventfd: request_stop() writes, run() polls
    // The runner's writes are committed with synchronous=normal whatever storage.synchronous
    // says: that setting is what an answer of the API promises (a 202 survives power loss). The
    // runner's last moments of progress lost to a power loss leave its tasks as if it had stopped
    // a moment earlier, which the leases recover from: those tasks run again. (A handler's durable
    // commit also makes durable every runner write before it in the WAL.)
    StorageConfig progress_storage_;
    std::optional<GroupCommitter> writes_; // while run() runs

    std::mutex mutex_;
    std::condition_variable changed_; // queue, idle count, active count or stopping changed
    std::deque<ClaimedTask> queue_;
    int idle_workers_ = 0;
    int active_tasks_ = 0;
    bool stopping_ = false; // no more claims; workers exit when idle
    bool supervisor_done_ = false;
    bool woken_ = false;       // the wake-up channel: a task was queued on this host
    bool queue_empty_ = false; // at the last look; until a wake, a finished task or the tick
    struct Running {
        AttemptClaim claim;
        std::shared_ptr<TaskControl> control;
    };
    std::map<std::string, Running> running_; // by task id

    // Writes are failing: no claims; the heartbeat, every write_backoff_, tells when they pass.
    bool writes_failing_ = false; // supervisor thread only
    std::chrono::milliseconds write_backoff_{0};
    RunnerWaker other_runners_; // told when tasks go back to the queue (recovered, released)

    std::atomic<bool> abort_tasks_{false}; // the grace period is over: running tasks stop
};

} // namespace tr::runner
