// Retention: deleting finished tasks older than a cutoff (by their end time, per status), with
// everything that belongs to them, a small batch to a transaction so the write lock is never
// held long; and giving the freed pages back to the filesystem (incremental vacuum).
//
// What goes with a task: its steps, events and status changes (ON DELETE CASCADE), and its
// batch's row once the batch has no task left. A task of a batch goes only when every task of
// its batch is due, so a batch is always shown whole (its statistics, GET /batches/{id}) or not
// at all. The counters of /metrics (metric_counters) only ever grow and are not touched: a
// Prometheus counter that went down would read as a reset. Queued and running tasks never go.
#pragma once

#include "core/db.h"
#include "core/time.h"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tr {

struct StorageConfig; // core/config.h

// The statuses retention may delete: the finished ones.
const std::vector<std::string> &finished_statuses();
bool is_finished_status(std::string_view status);

// For each finished status, the end time before which its tasks are due; a status without a
// cutoff is kept.
struct RetentionCutoffs {
    std::map<std::string, TimePoint> by_status;
    bool empty() const noexcept { return by_status.empty(); }
};

// What storage.retention_days and storage.retention_days_by_status say, at `now`: a status's own
// days when set (non-zero), else retention_days; zero days keeps the status forever.
RetentionCutoffs configured_cutoffs(const StorageConfig &storage, TimePoint now);

// The same cutoff for `statuses` (every finished one when empty): `prune --older-than`.
// Throws Error(InvalidRequest) for a status that is not a finished one.
RetentionCutoffs cutoffs_for(const std::vector<std::string> &statuses, TimePoint cutoff);

// Tasks deleted (or due), by status.
struct PruneCounts {
    std::map<std::string, long long> by_status;
    long long batches = 0; // batch rows deleted
    long long total() const noexcept;
    void add(const PruneCounts &other);
};

// How many tasks at most one call of prune_batch deletes: with their steps and events a few
// thousand rows. Measured with 3 steps and 8 events a task, on 2 busy cores: 500 tasks held the
// write lock 90-160 ms, 200 tasks 22-30 ms.
inline constexpr int prune_batch_size = 200;

// Deletes up to `limit` due tasks, oldest first, in the caller's write transaction (a group
// committer's write, or a transaction of its own). Fewer than `limit` deleted: nothing more is
// due. Throws SQLite::Exception.
PruneCounts prune_batch(Db &db, const RetentionCutoffs &cutoffs, int limit = prune_batch_size);

// Counts the due tasks by status without deleting anything (a dry run).
PruneCounts count_due(Db &db, const RetentionCutoffs &cutoffs);

// Every due task, batch after batch, each in a BEGIN IMMEDIATE transaction of its own, on a
// connection of the caller's (task-runner prune). `batches_done` (optional) counts them.
PruneCounts prune_all(Db &db, const RetentionCutoffs &cutoffs, int *batches_done = nullptr);

// The database's pages: how many there are, and how many are free (reusable, or returned by
// the next incremental vacuum).
struct PageCounts {
    long long pages = 0;
    long long free_pages = 0;
    long long page_size = 0;
};
PageCounts page_counts(Db &db);

// The database's auto_vacuum mode: "none", "full" or "incremental". A database made by this
// build is incremental (core/db.cpp sets it before the first table); an older one is "none"
// until one VACUUM converts it (task-runner prune --vacuum).
std::string auto_vacuum_mode(Db &db);

// Gives up to `max_pages` free pages back to the filesystem, in the caller's transaction
// (PRAGMA incremental_vacuum; nothing in a database whose auto_vacuum is not incremental).
// Returns how many free pages there were before.
long long release_free_pages(Db &db, long long max_pages);

// task-runner prune --vacuum: a database that is not yet incremental is converted by a VACUUM
// (which rewrites it whole, holding the write lock meanwhile, and needs free disk for a copy);
// one that is gets every free page released. Outside any transaction. Returns the mode before.
std::string vacuum_database(Db &db);

} // namespace tr
