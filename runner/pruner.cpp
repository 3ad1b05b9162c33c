// Pruning from the supervisor's loop, a few batches at a time.
#include "runner/pruner.h"

#include "core/retention.h"

#include <algorithm>
#include <string>

namespace tr::runner {
namespace {

// A tick's work: 800 tasks at most, in four transactions of some tens of milliseconds each.
constexpr int batches_per_tick = 4;
constexpr long long pages_per_tick = 4096;
// Soon after start (not at once: recovery and the first claims come first), and while more is
// due, again after this.
constexpr std::chrono::seconds first_run_after{5};
constexpr std::chrono::seconds again_after{1};

bool retention_on(const StorageConfig &storage) {
    const RetentionDays &own = storage.retention_days_by_status;
    return storage.retention_days > 0 || own.completed > 0 || own.failed > 0 || own.cancelled > 0 ||
           own.timeout > 0;
}

} // namespace

Pruner::Pruner(const StorageConfig &storage, const Log &log, GroupCommitter &writes)
    : storage_(storage), log_(log), writes_(writes),
      next_run_(retention_on(storage)
                    ? SteadyClock::now() +
                          std::min<std::chrono::seconds>(
                              first_run_after, std::chrono::seconds(storage.prune_interval_seconds))
                    : SteadyClock::time_point::max()) {}

void Pruner::run(SteadyClock::time_point now) noexcept {
    next_run_ = now + std::chrono::seconds(storage_.prune_interval_seconds);
    try {
        if (prune_some() || release_some())
            next_run_ = now + again_after;
    } catch (const std::exception &e) {
        // A full disk, a busy database: the next interval tries again; nothing was half done,
        // each batch being a transaction.
        log_.warn("tasks.prune_failed", {{"error", e.what()}});
    }
}

bool Pruner::prune_some() {
    const RetentionCutoffs cutoffs = configured_cutoffs(storage_, Clock::now());
    PruneCounts deleted;
    bool more = false;
    for (int i = 0; i < batches_per_tick; ++i) {
        PruneCounts batch;
        writes_.write([&](Db &writer) { batch = prune_batch(writer, cutoffs); });
        deleted.add(batch);
        more = batch.total() == prune_batch_size;
        if (!more)
            break;
    }
    if (deleted.total() > 0)
        log_.info("tasks.pruned", {{"count", deleted.total()},
                                   {"completed", deleted.by_status["completed"]},
                                   {"failed", deleted.by_status["failed"]},
                                   {"cancelled", deleted.by_status["cancelled"]},
                                   {"timeout", deleted.by_status["timeout"]},
                                   {"batches_emptied", deleted.batches},
                                   {"more_due", more}});
    return more;
}

bool Pruner::release_some() {
    long long free_before = 0;
    writes_.write([&](Db &writer) { free_before = release_free_pages(writer, pages_per_tick); });
    if (free_before > 0)
        log_.debug("storage.pages_released", {{"pages", std::min(free_before, pages_per_tick)}});
    return free_before > pages_per_tick;
}

} // namespace tr::runner
