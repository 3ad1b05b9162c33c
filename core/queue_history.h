// The last hour of the queue, minute by minute (GET /api/v1/metrics/history, the console's
// chart): tasks submitted, started and finished in each minute, and the queue's depth at its end.
//
// Every figure is an index range over the hour (tasks_newest, tasks_by_started,
// tasks_finished), never a scan of the table. The depth is worked back from the depth now (a
// count over the queue's own partial index): a minute earlier the queue held what it holds now,
// less what was submitted since, plus what left it since (started, or cancelled unstarted). A
// task taken back from a crashed runner re-enters the queue unseen by that sum, so a past depth
// can be a little low; it is never below zero.
#pragma once

#include "core/db.h"
#include "core/json.h"
#include "core/time.h"

#include <string>
#include <vector>

namespace tr {

inline constexpr int history_minutes = 60;

struct QueueMinute {
    std::string minute; // "2026-12-01T22:41:00Z", the minute's start
    long long submitted = 0;
    long long started = 0;
    long long finished = 0;
    long long cancelled_unstarted = 0; // finished without starting: left the queue so
    long long queue_depth = 0;         // at the end of the minute
};

// The `history_minutes` minutes up to and including the one `now` is in, oldest first.
std::vector<QueueMinute> queue_history(Db &db, TimePoint now);

// {"minutes": [{"minute", "submitted", "started", "finished", "queue_depth"}...],
//  "queue_depth": now}
JsonPtr queue_history_json(const std::vector<QueueMinute> &minutes);

} // namespace tr
