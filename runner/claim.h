// Leases: how runners take tasks from the queue without ever taking the same one twice, keep
// them while they work, give them back on shutdown, and recover those of a runner that died.
//
// A running task's lease (runner_id, lease_expires_at) is renewed with the runner's heartbeat.
// When it lapses, any runner puts the task back in the queue (or fails it after
// max_attempts), so a crash loses no task.
#pragma once

#include "core/db.h"
#include "core/time.h"

#include <optional>
#include <string>
#include <vector>

namespace tr::runner {

inline constexpr int max_attempts = 3;

struct ClaimedTask {
    std::string id;
    std::string task;
    std::optional<std::string> context; // JSON text, validated at submission
    std::string priority;
    std::string owner; // the submitting key's owner; empty without authentication
    int attempt = 0;   // 1 for the first run
};

// Atomically moves the best queued task (priority first, then age) to running under this
// runner's lease. nullopt when the queue is empty.
// started_at is the database's clock at the moment of the write (see TaskRecorder::finish).
std::optional<ClaimedTask> claim_next_task(Db &db, const std::string &runner_id,
                                           TimePoint lease_until);

// Extends the leases of every task this runner holds; returns how many.
int renew_leases(Db &db, const std::string &runner_id, TimePoint lease_until);

// Requeues (or, after max_attempts, fails with RUNNER_LOST) tasks whose lease has lapsed, and
// marks the steps they left running as failed. Returns how many tasks were recovered.
int recover_expired_leases(Db &db, TimePoint now);

// Gives a task back to the queue without counting the attempt (graceful shutdown).
bool release_task(Db &db, const std::string &task_id, const std::string &runner_id);

// Ids of this runner's tasks whose cancellation was requested.
std::vector<std::string> cancel_requests(Db &db, const std::string &runner_id);

struct RunnerRecord {
    std::string id;
    std::string hostname;
    long pid = 0;
    int max_concurrent_tasks = 0;
    std::string sandbox;      // "bubblewrap" or "none": what its commands run in
    std::string sandbox_user; // "uid 65533 (...)": who they run as
    std::string cgroups;      // which control groups limit them, or why none
    std::string network;      // tools.network
};

struct Heartbeat {
    int active_tasks = 0;
    double cpu_percent = 0;
    double memory_mb = 0;
};

void register_runner(Db &db, const RunnerRecord &runner, TimePoint now);
void record_heartbeat(Db &db, const std::string &runner_id, const Heartbeat &heartbeat,
                      TimePoint now);
void record_runner_stopped(Db &db, const std::string &runner_id, TimePoint now);

} // namespace tr::runner
