// Cancelling every queued task that matches a filter (POST /api/v1/tasks/cancel), in small
// transactions: a big queue is cancelled a slice at a time, so the write lock is never held for
// long and submissions and claims go on between the slices.
#pragma once

#include "core/db.h"
#include "core/time.h"

#include <optional>
#include <string>

namespace tr {

struct QueuedTaskFilter {
    std::optional<std::string> priority;
    std::optional<std::string> batch_id;
    std::optional<std::string> owner; // set for keys that see only their owner's tasks
    std::string since;                // RFC 3339, normalised; "" for no lower bound
    std::string until;                // RFC 3339: only tasks submitted by then (the request's
                                      // time, so tasks queued while it runs are left alone)
};

// The most tasks one transaction cancels.
inline constexpr int bulk_cancel_slice = 200;

// Cancels up to `limit` of the oldest queued tasks matching `filter`, in one IMMEDIATE
// transaction, as DELETE /api/v1/tasks/{id} cancels a queued one. Returns how many it cancelled:
// fewer than `limit` means none is left. Throws Error (core/db) when the database fails.
int cancel_queued_slice(Db &db, const QueuedTaskFilter &filter, TimePoint now, int limit);

} // namespace tr
