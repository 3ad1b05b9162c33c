// Per-minute counts of the last hour, from indexed timestamps.
#include "core/queue_history.h"

#include <algorithm>
#include <map>

namespace tr {
namespace {

// Times are fixed-width RFC 3339 text (migration 0001), so the first 16 characters
// ("2026-12-01T22:41") name the minute and the text range [from, to) is the time range.
std::string minute_of(const std::string &time) {
    return time.substr(0, 16) + ":00Z";
}

// Counts by minute of `column` in [from, to), one fixed statement each (no SQL is built).
std::map<std::string, long long> counts_by_minute(Db &db, const char *sql, const std::string &from,
                                                  const std::string &to) {
    Query select = db.query(sql);
    select->bind(1, from);
    select->bind(2, to);
    std::map<std::string, long long> counts;
    while (select->executeStep())
        counts[select->getColumn(0).getString() + ":00Z"] = select->getColumn(1).getInt64();
    return counts;
}

constexpr const char *submitted_sql =
    "SELECT substr(created_at, 1, 16), count(*) FROM tasks INDEXED BY tasks_newest "
    "WHERE created_at >= ?1 AND created_at < ?2 GROUP BY 1";
constexpr const char *started_sql =
    "SELECT substr(started_at, 1, 16), count(*) FROM tasks INDEXED BY tasks_by_started "
    "WHERE started_at >= ?1 AND started_at < ?2 GROUP BY 1";
// Ended tasks by end time: retention's index (status, finished_at), a range per ended status.
constexpr const char *finished_sql =
    "SELECT substr(finished_at, 1, 16), count(*) FROM tasks INDEXED BY tasks_finished "
    "WHERE status IN ('completed', 'failed', 'cancelled', 'timeout') AND finished_at >= ?1 AND "
    "finished_at < ?2 GROUP BY 1";
constexpr const char *cancelled_unstarted_sql =
    "SELECT substr(finished_at, 1, 16), count(*) FROM tasks INDEXED BY tasks_finished "
    "WHERE status IN ('completed', 'failed', 'cancelled', 'timeout') AND finished_at >= ?1 AND "
    "finished_at < ?2 "
    "AND started_at IS NULL GROUP BY 1";

long long queue_depth_now(Db &db) {
    Query queued = db.query("SELECT count(*) FROM tasks WHERE status = 'queued'"); // tasks_queue
    queued->executeStep();
    return queued->getColumn(0).getInt64();
}

} // namespace

std::vector<QueueMinute> queue_history(Db &db, TimePoint now) {
    const ReadSnapshot snapshot(db); // every count and the depth from the same moment
    const auto this_minute = std::chrono::time_point_cast<std::chrono::minutes>(now);
    const TimePoint first = this_minute - std::chrono::minutes(history_minutes - 1);
    const std::string from = format_utc(first);
    const std::string to = format_utc(this_minute + std::chrono::minutes(1));
    const auto submitted = counts_by_minute(db, submitted_sql, from, to);
    const auto started = counts_by_minute(db, started_sql, from, to);
    const auto finished = counts_by_minute(db, finished_sql, from, to);
    const auto unstarted = counts_by_minute(db, cancelled_unstarted_sql, from, to);
    const auto count = [](const std::map<std::string, long long> &counts, const std::string &key) {
        const auto found = counts.find(key);
        return found == counts.end() ? 0 : found->second;
    };
    std::vector<QueueMinute> minutes(history_minutes);
    long long depth = queue_depth_now(db);
    for (int i = history_minutes - 1; i >= 0; --i) { // newest first: the depth is worked back
        QueueMinute &m = minutes[static_cast<std::size_t>(i)];
        m.minute = minute_of(format_utc(first + std::chrono::minutes(i)));
        m.submitted = count(submitted, m.minute);
        m.started = count(started, m.minute);
        m.finished = count(finished, m.minute);
        m.cancelled_unstarted = count(unstarted, m.minute);
        m.queue_depth = depth;
        depth = std::max(0LL, depth - m.submitted + m.started + m.cancelled_unstarted);
    }
    return minutes;
}

JsonPtr queue_history_json(const std::vector<QueueMinute> &minutes) {
    JsonPtr list(json_array());
    for (const QueueMinute &m : minutes)
        json_array_append_new(list.get(),
                              json_pack("{s:s,s:I,s:I,s:I,s:I}", "minute", m.minute.c_str(),
                                        "submitted", static_cast<json_int_t>(m.submitted),
                                        "started", static_cast<json_int_t>(m.started), "finished",
                                        static_cast<json_int_t>(m.finished), "queue_depth",
                                        static_cast<json_int_t>(m.queue_depth)));
    const long long depth = minutes.empty() ? 0 : minutes.back().queue_depth;
    return JsonPtr(json_pack("{s:i,s:o,s:I}", "minutes_covered", history_minutes, "minutes",
                             list.release(), "queue_depth", static_cast<json_int_t>(depth)));
}

} // namespace tr
