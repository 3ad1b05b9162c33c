// Bulk cancellation of queued tasks, a slice per transaction.
#include "core/bulk_cancel.h"

#include <SQLiteCpp/Transaction.h>

namespace tr {
namespace {

// One constant statement for every filter: an absent filter is bound as NULL and its test is
// true. The range on (status, created_at) is the tasks_by_status index; the rest filters the
// queued rows in it.
constexpr const char *cancel_slice_sql =
    "UPDATE tasks SET status = 'cancelled', finished_at = :now, cancel_requested_at = :now, "
    "error_code = 'CANCELLED', error_message = 'cancelled before it started' "
    "WHERE id IN (SELECT id FROM tasks INDEXED BY tasks_by_status "
    "             WHERE status = 'queued' AND created_at >= :since AND created_at <= :until "
    "               AND (:priority IS NULL OR priority = :priority) "
    "               AND (:batch IS NULL OR batch_id = :batch) "
    "               AND (:owner IS NULL OR owner = :owner) "
    "             ORDER BY created_at LIMIT :limit)";

void bind_optional(SQLite::Statement &statement, const char *name,
                   const std::optional<std::string> &value) {
    if (value)
        statement.bind(name, *value);
    else
        statement.bind(name); // NULL
}

} // namespace

int cancel_queued_slice(Db &db, const QueuedTaskFilter &filter, TimePoint now, int limit) {
    SQLite::Transaction transaction(db.handle(), SQLite::TransactionBehavior::IMMEDIATE);
    Query cancel = db.query(cancel_slice_sql);
    cancel->bind(":now", format_utc(now));
    cancel->bind(":since", filter.since);
    cancel->bind(":until", filter.until);
    bind_optional(*cancel, ":priority", filter.priority);
    bind_optional(*cancel, ":batch", filter.batch_id);
    bind_optional(*cancel, ":owner", filter.owner);
    cancel->bind(":limit", limit);
    const int cancelled = cancel->exec();
    transaction.commit();
    return cancelled;
}

} // namespace tr
