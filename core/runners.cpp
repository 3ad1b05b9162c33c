// Reading the runners table.
#include "core/runners.h"

namespace tr {

RunnerSummary summarize_runners(Db &db, TimePoint now) {
    RunnerSummary summary;
    {
        Query query = db.query("SELECT count(*) FILTER (WHERE stopped_at IS NULL AND "
                               "heartbeat_at >= ?), max(heartbeat_at) FROM runners");
        query->bind(1, format_utc(now - runner_alive_window));
        query->executeStep();
        summary.alive = query->getColumn(0).getInt();
        summary.last_heartbeat = optional_text(query->getColumn(1));
    }
    Query kinds = db.query("SELECT DISTINCT sandbox FROM runners WHERE stopped_at IS NULL "
                           "AND heartbeat_at >= ? AND sandbox IS NOT NULL ORDER BY sandbox");
    kinds->bind(1, format_utc(now - runner_alive_window));
    while (kinds->executeStep())
        summary.sandbox += (summary.sandbox.empty() ? "" : ", ") + kinds->getColumn(0).getString();
    return summary;
}

} // namespace tr
