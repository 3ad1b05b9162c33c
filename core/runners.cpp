// Reading the runners table.
#include "core/runners.h"

namespace tr {

RunnerSummary summarize_runners(Db &db, TimePoint now) {
    Query query = db.query("SELECT count(*) FILTER (WHERE stopped_at IS NULL AND heartbeat_at >= "
                           "?), max(heartbeat_at) "
                           "FROM runners");
    query->bind(1, format_utc(now - runner_alive_window));
    query->executeStep();
    RunnerSummary summary;
    summary.alive = query->getColumn(0).getInt();
    summary.last_heartbeat = optional_text(query->getColumn(1));
    return summary;
}

} // namespace tr
