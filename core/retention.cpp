// Deleting finished tasks past their retention, and giving the freed pages back.
#include "core/retention.h"

#include "core/config.h"
#include "core/error.h"
#include "core/strings.h"

#include <SQLiteCpp/Transaction.h>

#include <algorithm>
#include <set>

namespace tr {
namespace {

// The due tasks of one status, oldest end first: a range of tasks_finished (migration 0012), so
// the pruner never reads the table. A task of a batch is due only when every task of its batch
// is (each by its own status's cutoff): a batch goes whole. A status without a cutoff binds ''
// as its cutoff, before which no time is.
constexpr const char *due_condition =
    "FROM tasks t INDEXED BY tasks_finished "
    "WHERE t.status = :status AND t.finished_at IS NOT NULL AND t.finished_at < :cutoff "
    "  AND (t.batch_id IS NULL OR NOT EXISTS ("
    "      SELECT 1 FROM tasks o WHERE o.batch_id = t.batch_id "
    "        AND NOT (o.finished_at IS NOT NULL AND o.finished_at < CASE o.status "
    "            WHEN 'completed' THEN :completed WHEN 'failed' THEN :failed "
    "            WHEN 'cancelled' THEN :cancelled WHEN 'timeout' THEN :timeout ELSE '' END))) ";

std::string cutoff_text(const RetentionCutoffs &cutoffs, const std::string &status) {
    const auto found = cutoffs.by_status.find(status);
    return found == cutoffs.by_status.end() ? std::string() : format_utc(found->second);
}

void bind_cutoffs(SQLite::Statement &statement, const RetentionCutoffs &cutoffs,
                  const std::string &status) {
    statement.bind(":status", status);
    statement.bind(":cutoff", cutoff_text(cutoffs, status));
    for (const std::string &each : finished_statuses())
        statement.bind(":" + each, cutoff_text(cutoffs, each));
}

struct DueTask {
    std::string id;
    std::optional<std::string> batch_id;
};

std::vector<DueTask> due_tasks(Db &db, const RetentionCutoffs &cutoffs, const std::string &status,
                               int limit) {
    Query select = db.query(std::string("SELECT t.id, t.batch_id ") + due_condition +
                            "ORDER BY t.finished_at LIMIT :limit");
    bind_cutoffs(*select, cutoffs, status);
    select->bind(":limit", limit);
    std::vector<DueTask> due;
    while (select->executeStep())
        due.push_back({select->getColumn(0).getString(), optional_text(select->getColumn(1))});
    return due; // the statement is reset here, before the deletes
}

// Steps, events and status changes go by ON DELETE CASCADE (every connection has foreign keys
// on, core/db.cpp); each of those tables is indexed by task first, so the cascade seeks.
void delete_task(Db &db, const std::string &id) {
    Query remove = db.query("DELETE FROM tasks WHERE id = ?");
    remove->bind(1, id);
    remove->exec();
}

bool delete_batch_if_empty(Db &db, const std::string &batch_id) {
    Query remove = db.query("DELETE FROM batches WHERE id = :id "
                            "AND NOT EXISTS (SELECT 1 FROM tasks WHERE batch_id = :id)");
    remove->bind(":id", batch_id);
    return remove->exec() > 0;
}

long long pragma_number(Db &db, const std::string &sql) {
    Query pragma = db.query(sql);
    return pragma->executeStep() ? pragma->getColumn(0).getInt64() : 0;
}

} // namespace

const std::vector<std::string> &finished_statuses() {
    static const std::vector<std::string> statuses{"completed", "failed", "cancelled", "timeout"};
    return statuses;
}

bool is_finished_status(std::string_view status) {
    const auto &all = finished_statuses();
    return std::find(all.begin(), all.end(), status) != all.end();
}

RetentionCutoffs configured_cutoffs(const StorageConfig &storage, TimePoint now) {
    const RetentionDays &own = storage.retention_days_by_status;
    const std::pair<const char *, int> days[] = {{"completed", own.completed},
                                                 {"failed", own.failed},
                                                 {"cancelled", own.cancelled},
                                                 {"timeout", own.timeout}};
    RetentionCutoffs cutoffs;
    for (const auto &[status, status_days] : days) {
        const int kept = status_days != 0 ? status_days : storage.retention_days;
        if (kept > 0)
            cutoffs.by_status[status] = now - std::chrono::hours(24) * kept;
    }
    return cutoffs;
}

RetentionCutoffs cutoffs_for(const std::vector<std::string> &statuses, TimePoint cutoff) {
    RetentionCutoffs cutoffs;
    for (const std::string &status : statuses.empty() ? finished_statuses() : statuses) {
        if (!is_finished_status(status))
            throw Error(ErrorCode::InvalidRequest,
                        "status must be one of " + join(finished_statuses(), ", ") + " (got " +
                            in_quotes(status) + "): only finished tasks are pruned");
        cutoffs.by_status[status] = cutoff;
    }
    return cutoffs;
}

long long PruneCounts::total() const noexcept {
    long long sum = 0;
    for (const auto &[status, count] : by_status)
        sum += count;
    return sum;
}

void PruneCounts::add(const PruneCounts &other) {
    for (const auto &[status, count] : other.by_status)
        by_status[status] += count;
    batches += other.batches;
}

PruneCounts prune_batch(Db &db, const RetentionCutoffs &cutoffs, int limit) {
    PruneCounts deleted;
    std::set<std::string> batches;
    for (const auto &[status, cutoff] : cutoffs.by_status) {
        const int left = limit - static_cast<int>(deleted.total());
        if (left <= 0)
            break;
        for (const DueTask &task : due_tasks(db, cutoffs, status, left)) {
            delete_task(db, task.id);
            ++deleted.by_status[status];
            if (task.batch_id)
                batches.insert(*task.batch_id);
        }
    }
    for (const std::string &batch_id : batches)
        deleted.batches += delete_batch_if_empty(db, batch_id);
    return deleted;
}

PruneCounts count_due(Db &db, const RetentionCutoffs &cutoffs) {
    PruneCounts due;
    for (const auto &[status, cutoff] : cutoffs.by_status) {
        Query count = db.query(std::string("SELECT count(*) ") + due_condition);
        bind_cutoffs(*count, cutoffs, status);
        if (count->executeStep() && count->getColumn(0).getInt64() > 0)
            due.by_status[status] = count->getColumn(0).getInt64();
    }
    return due;
}

PruneCounts prune_all(Db &db, const RetentionCutoffs &cutoffs, int *batches_done) {
    PruneCounts deleted;
    for (;;) {
        SQLite::Transaction transaction(db.handle(), SQLite::TransactionBehavior::IMMEDIATE);
        const PruneCounts batch = prune_batch(db, cutoffs);
        transaction.commit();
        deleted.add(batch);
        if (batches_done && batch.total() > 0)
            ++*batches_done;
        if (batch.total() < prune_batch_size)
            return deleted;
    }
}

PageCounts page_counts(Db &db) {
    return {pragma_number(db, "PRAGMA page_count"), pragma_number(db, "PRAGMA freelist_count"),
            pragma_number(db, "PRAGMA page_size")};
}

std::string auto_vacuum_mode(Db &db) {
    switch (pragma_number(db, "PRAGMA auto_vacuum")) {
    case 1: return "full";
    case 2: return "incremental";
    default: return "none";
    }
}

long long release_free_pages(Db &db, long long max_pages) {
    const long long free_before = pragma_number(db, "PRAGMA freelist_count");
    // The pragma yields a row per page freed: sqlite3_exec (Database::exec) steps it to the end.
    // Its argument is a fixed chunk, so the SQL stays constant text.
    for (long long released = 0; released < std::min(free_before, max_pages); released += 1024)
        db.handle().exec("PRAGMA incremental_vacuum(1024)");
    return free_before;
}

std::string vacuum_database(Db &db) {
    std::string before = auto_vacuum_mode(db);
    if (before == "incremental") {
        db.handle().exec("PRAGMA incremental_vacuum");
        return before;
    }
    // Takes effect with the VACUUM that follows: it writes the database again, incremental.
    db.handle().exec("PRAGMA auto_vacuum=INCREMENTAL");
    db.handle().exec("VACUUM");
    return before;
}

} // namespace tr
