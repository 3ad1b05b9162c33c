// The runner's own retention: when storage.retention_days (or a status's own days) is set, the
// supervisor asks this, at start and every storage.prune_interval_seconds, to delete the
// finished tasks past retention (core/retention.h) and give the freed pages back.
//
// Each batch of prune_batch_size tasks is one write of the runner's group committer, so it
// shares a transaction with whatever else the runner writes and holds the lock no longer than
// that; a tick does at most a few batches and then lets the supervisor heartbeat and claim,
// coming back a second later while more is due. Two runners pruning at once only share the
// work: each batch reads and deletes inside its own write transaction.
#pragma once

#include "core/config.h"
#include "core/group_commit.h"
#include "core/log.h"
#include "core/time.h"

namespace tr::runner {

class Pruner {
public:
    // `writes` must outlive the Pruner. Not thread-safe: the supervisor's alone.
    Pruner(const StorageConfig &storage, const Log &log, GroupCommitter &writes);

    // When run() is due next; never while retention is off.
    SteadyClock::time_point next_run() const noexcept { return next_run_; }

    // Deletes (some of) what is due and schedules the next run. Never throws: a failed batch is
    // logged and tried again at the next interval.
    void run(SteadyClock::time_point now) noexcept;

private:
    // True when more is due than one tick takes.
    bool prune_some();
    // True when free pages are left to give back.
    bool release_some();

    const StorageConfig &storage_;
    const Log &log_;
    GroupCommitter &writes_;
    SteadyClock::time_point next_run_;
};

} // namespace tr::runner
