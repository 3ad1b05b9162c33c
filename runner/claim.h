// Leases: how runners take tasks from the queue without ever taking the same one twice, keep
// them while they work, give them back on shutdown, and recover those of a runner that died.
//
// A running task's lease (runner_id, attempts, lease_expires_at) is renewed per task, with the
// runner's heartbeat, while the task's worker shows it is alive. When it lapses, any runner puts
// the task back in the queue (or fails it after max_attempts), so a crash or a stall loses no
// task; the lapsed attempt's writes are fenced out from then on (see AttemptClaim).
#pragma once

#include "core/config.h"
#include "core/db.h"
#include "core/time.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tr::runner {

inline constexpr int max_attempts = 3;

// What an attempt holds: its task, its runner and its number (tasks.attempts at its claim).
// Every write for the attempt is fenced by all three, so after a lease was lost and the task
// claimed again — by another runner or by this one — the old attempt can change nothing.
struct AttemptClaim {
    std::string task_id;
    std::string runner_id;
    int attempt = 0;
};

// The fence, as a condition on tasks with the parameters :task, :attempt and :runner.
// A lease that has lapsed holds nothing, even before recovery has taken the task back.
inline constexpr const char *attempt_fence =
    "id = :task AND attempts = :attempt AND runner_id = :runner AND status = 'running' "
    "AND lease_expires_at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

// Binds :task, :attempt and :runner.
void bind_claim(SQLite::Statement &statement, const AttemptClaim &claim);

struct ClaimedTask {
    std::string id;
    std::string task;
    std::optional<std::string> context; // JSON text, validated at submission
    std::string priority;
    std::string owner; // the submitting key's owner; empty without authentication
    int attempt = 0;   // 1 for the first run
    int last_step = 0; // the highest step number earlier attempts left; new steps follow it
    // The live (model) settings (core/config_store.h) as they were when the task was claimed: a
    // change applies from the next claim on. Set by the runner; null: read them at the start.
    std::shared_ptr<const ModelConfig> model;

    AttemptClaim claim(const std::string &runner_id) const { return {id, runner_id, attempt}; }
};

// Atomically moves up to `limit` of the best queued tasks (priority first, then age) to running
// under this runner's lease, in one statement; none when the queue is empty. The claim counts
// only once committed: run inside a write transaction (the runner's group commit; alone, it
// makes its own), whose failing commit (a full disk) throws with nothing claimed.
// started_at is the database's clock at the moment of the write (see TaskRecorder::finish).
std::vector<ClaimedTask> claim_tasks(Db &db, const std::string &runner_id, TimePoint lease_until,
                                     int limit);
// claim_tasks for one.
std::optional<ClaimedTask> claim_next_task(Db &db, const std::string &runner_id,
                                           TimePoint lease_until);
// Extends one attempt's lease; false when the attempt no longer holds its task.
bool renew_lease(Db &db, const AttemptClaim &claim, TimePoint lease_until);

// Requeues (or, after max_attempts, fails with RUNNER_LOST) tasks whose lease has lapsed, and
// marks the steps their attempt left running as interrupted, in one transaction (the caller's,
// if one is open). Returns how many tasks were recovered; they are counted in
// ai_agent_lease_recoveries_total.
int recover_expired_leases(Db &db, TimePoint now);

// Gives a task back to the queue without counting the attempt (graceful shutdown).
bool release_task(Db &db, const AttemptClaim &claim);

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
