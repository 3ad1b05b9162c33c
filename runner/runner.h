// The runner process: one supervisor thread and max_concurrent_tasks worker threads, each with
// its own SQLite connection.
//
// The supervisor claims tasks only while a worker is idle (so a claimed task never waits in
// memory), renews leases with the heartbeat, recovers tasks of dead runners, and delivers
// cancellations. On SIGTERM it stops claiming, lets running tasks finish for the grace period,
// then stops the rest and gives them back to the queue: nothing is lost.
#pragma once

#include "core/config.h"
#include "core/log.h"
#include "runner/claim.h"
#include "runner/sandbox/sandbox.h"
#include "runner/task_control.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>

namespace tr::runner {

class Runner {
public:
    Runner(const Config &config, const Log &log, const Sandbox &sandbox);

    // Runs until SIGTERM, SIGINT or SIGHUP arrives (the caller blocks them in every thread
    // first); returns the process exit status.
    int run(const sigset_t &stop_signals);

private:
    void supervise();
    void work();
    void claim_while_idle(Db &db);
    void deliver_cancellations(Db &db);
    void register_control(const std::string &task_id, TaskControl *control);

    const Config &config_;
    const Log &log_;
    const Sandbox &sandbox_;
    std::string id_;

    std::mutex mutex_;
    std::condition_variable changed_; // queue, idle count, active count or stopping changed
    std::deque<ClaimedTask> queue_;
    int idle_workers_ = 0;
    int active_tasks_ = 0;
    bool stopping_ = false; // no more claims; workers exit when idle
    bool supervisor_done_ = false;
    std::map<std::string, TaskControl *> controls_;

    std::atomic<bool> abort_tasks_{false}; // the grace period is over: running tasks stop
};

} // namespace tr::runner
