// The lease queries. Each is one statement or one short IMMEDIATE transaction.
#include "runner/claim.h"

#include "core/task.h"

#include <SQLiteCpp/Transaction.h>
#include <sqlite3.h>

#include <algorithm>
#include <tuple>

namespace tr::runner {

void bind_claim(SQLite::Statement &statement, const AttemptClaim &claim) {
    statement.bind(":task", claim.task_id);
    statement.bind(":attempt", claim.attempt);
    statement.bind(":runner", claim.runner_id);
}

namespace {

// The caller's write transaction when one is open (the group commit's), else an IMMEDIATE one
// of its own: the statements in between are then one write either way.
class WriteScope {
public:
    explicit WriteScope(Db &db) {
        if (sqlite3_get_autocommit(db.handle().getHandle()))
            own_.emplace(db.handle(), SQLite::TransactionBehavior::IMMEDIATE);
    }
    void commit() {
        if (own_)
            own_->commit();
    }

private:
    std::optional<SQLite::Transaction> own_;
};

} // namespace

std::vector<ClaimedTask> claim_tasks(Db &db, const std::string &runner_id, TimePoint lease_until,
                                     int limit) {
    // One UPDATE ... RETURNING: the choice and the take are a single write, so two runners
    // cannot both see the same row as queued. The subquery, evaluated once before any row
    // changes, walks the tasks_queue index (named: without it the planner takes tasks_by_status
    // and sorts every queued task at each claim), passing over a task of a sequential batch while
    // an earlier task of that batch is unfinished — so of one such batch at most its next task is
    // taken, however many are asked for. In autocommit the RETURNING rows arrive before the
    // commit, whose failure (SQLITE_FULL) would be swallowed by the statement's reset; inside a
    // transaction the commit is a statement of its own, and it throws.
    WriteScope scope(db);
    std::vector<ClaimedTask> tasks;
    {
        Query claim = db.query(
            "UPDATE tasks SET status = 'running', runner_id = :runner, lease_expires_at = :lease, "
            "started_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), attempts = attempts + 1 "
            "WHERE id IN (SELECT t.id FROM tasks t INDEXED BY tasks_queue WHERE t.status = "
            "'queued' "
            "              AND (t.batch_id IS NULL OR NOT EXISTS ("
            "                  SELECT 1 FROM tasks earlier JOIN batches b ON b.id = "
            "earlier.batch_id "
            "                  WHERE earlier.batch_id = t.batch_id AND b.mode = 'sequential' "
            "                    AND earlier.batch_seq < t.batch_seq "
            "                    AND earlier.status IN ('queued', 'running'))) "
            "            ORDER BY t.priority_rank DESC, t.created_at, t.rowid LIMIT :limit) "
            "RETURNING id, task, context, priority, attempts, coalesce(owner, ''), "
            "priority_rank, created_at, rowid, "
            "(SELECT coalesce(max(step_number), 0) FROM steps WHERE task_id = tasks.id)");
        claim->bind(":runner", runner_id);
        claim->bind(":lease", format_utc(lease_until));
        claim->bind(":limit", limit);
        struct Ranked {
            int rank;
            std::string created;
            long long rowid;
            ClaimedTask task;
        };
        std::vector<Ranked> ranked;
        while (claim->executeStep()) {
            ClaimedTask task;
            task.id = claim->getColumn(0).getString();
            task.task = claim->getColumn(1).getString();
            task.context = optional_text(claim->getColumn(2));
            task.priority = claim->getColumn(3).getString();
            task.attempt = claim->getColumn(4).getInt();
            task.owner = claim->getColumn(5).getString();
            task.last_step = claim->getColumn(9).getInt();
            ranked.push_back({claim->getColumn(6).getInt(), claim->getColumn(7).getString(),
                              claim->getColumn(8).getInt64(), std::move(task)});
        }
        // RETURNING comes in no promised order; the queue's is what starts first.
        std::sort(ranked.begin(), ranked.end(), [](const Ranked &a, const Ranked &b) {
            return std::tie(b.rank, a.created, a.rowid) < std::tie(a.rank, b.created, b.rowid);
        });
        for (Ranked &entry : ranked)
            tasks.push_back(std::move(entry.task));
    } // reset here: the commit must find no statement running
    if (!tasks.empty())
        scope.commit(); // with nothing claimed, nothing was written: the scope rolls back
    return tasks;
}

std::optional<ClaimedTask> claim_next_task(Db &db, const std::string &runner_id,
                                           TimePoint lease_until) {
    std::vector<ClaimedTask> tasks = claim_tasks(db, runner_id, lease_until, 1);
    if (tasks.empty())
        return std::nullopt;
    return std::move(tasks.front());
}

bool renew_lease(Db &db, const AttemptClaim &claim, TimePoint lease_until) {
    Query renew =
        db.query(std::string("UPDATE tasks SET lease_expires_at = :lease WHERE ") + attempt_fence);
    bind_claim(*renew, claim);
    renew->bind(":lease", format_utc(lease_until));
    return renew->exec() == 1;
}

int recover_expired_leases(Db &db, TimePoint now) {
    const std::string cutoff = format_utc(now);
    WriteScope scope(db);
    // Only the lapsed attempt's steps: what they did may or may not have taken effect.
    Query steps = db.query(
        "UPDATE steps SET status = 'interrupted', finished_at = :now, "
        "error = 'interrupted: the runner executing this attempt stopped responding "
        "(it may or may not have taken effect)' "
        "WHERE status = 'running' AND (task_id, attempt) IN "
        "(SELECT id, attempts FROM tasks WHERE status = 'running' AND lease_expires_at < :now)");
    steps->bind(":now", cutoff);
    steps->exec();
    Query tasks =
        db.query("UPDATE tasks SET lease_expires_at = NULL, "
                 "status = CASE WHEN attempts >= :max THEN 'failed' ELSE 'queued' END, "
                 "error_code = CASE WHEN attempts >= :max THEN :code ELSE error_code END, "
                 "error_message = CASE WHEN attempts >= :max THEN :message ELSE error_message END, "
                 "finished_at = CASE WHEN attempts >= :max THEN :now ELSE finished_at END "
                 "WHERE status = 'running' AND lease_expires_at < :now");
    tasks->bind(":max", max_attempts);
    tasks->bind(":code", task_error::runner_lost);
    tasks->bind(":message", "the runner executing this task stopped responding " +
                                std::to_string(max_attempts) + " times");
    tasks->bind(":now", cutoff);
    const int recovered = tasks->exec();
    if (recovered > 0) {
        Query count = db.query("UPDATE metric_counters SET value = value + ? "
                               "WHERE name = 'ai_agent_lease_recoveries_total' AND labels = ''");
        count->bind(1, recovered);
        count->exec();
    }
    scope.commit();
    return recovered;
}

bool release_task(Db &db, const AttemptClaim &claim) {
    Query release =
        db.query(std::string("UPDATE tasks SET status = 'queued', lease_expires_at = NULL, "
                             "attempts = attempts - 1 WHERE ") +
                 attempt_fence);
    bind_claim(*release, claim);
    return release->exec() == 1;
}

std::vector<std::string> cancel_requests(Db &db, const std::string &runner_id) {
    Query select = db.query("SELECT id FROM tasks WHERE status = 'running' AND runner_id = ? "
                            "AND cancel_requested_at IS NOT NULL");
    select->bind(1, runner_id);
    std::vector<std::string> ids;
    while (select->executeStep())
        ids.push_back(select->getColumn(0).getString());
    return ids;
}

void register_runner(Db &db, const RunnerRecord &runner, TimePoint now) {
    Query insert = db.query("INSERT INTO runners (id, hostname, pid, version, "
                            "max_concurrent_tasks, started_at, heartbeat_at, sandbox, "
                            "sandbox_user, cgroups, network) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    const std::string time = format_utc(now);
    insert->bind(1, runner.id);
    insert->bind(2, runner.hostname);
    insert->bind(3, static_cast<int64_t>(runner.pid));
    insert->bind(4, TR_VERSION);
    insert->bind(5, runner.max_concurrent_tasks);
    insert->bind(6, time);
    insert->bind(7, time);
    insert->bind(8, runner.sandbox);
    insert->bind(9, runner.sandbox_user);
    insert->bind(10, runner.cgroups);
    insert->bind(11, runner.network);
    insert->exec();
}

void record_heartbeat(Db &db, const std::string &runner_id, const Heartbeat &heartbeat,
                      TimePoint now) {
    Query update =
        db.query("UPDATE runners SET heartbeat_at = ?, active_tasks = ?, cpu_percent = ?, "
                 "memory_mb = ? WHERE id = ?");
    update->bind(1, format_utc(now));
    update->bind(2, heartbeat.active_tasks);
    update->bind(3, heartbeat.cpu_percent);
    update->bind(4, heartbeat.memory_mb);
    update->bind(5, runner_id);
    update->exec();
}

void record_runner_stopped(Db &db, const std::string &runner_id, TimePoint now) {
    Query update = db.query("UPDATE runners SET stopped_at = ?, active_tasks = 0 WHERE id = ?");
    update->bind(1, format_utc(now));
    update->bind(2, runner_id);
    update->exec();
}

} // namespace tr::runner
