// The task list. One constant statement per combination of filters, chosen from a table, so
// each can use its own index and no SQL is ever assembled at run time.
#include "core/task_list.h"

#include "core/time.h"

namespace tr {
namespace {

#define TR_LIST_SELECT                                                                             \
    "SELECT rowid, id, status, task, priority, batch_id, created_at, started_at, finished_at, "    \
    "error_code, error_message, provider, model FROM tasks WHERE "
// Newer than `since`, older than the cursor (rowid breaks ties within one millisecond).
#define TR_LIST_PAGE                                                                               \
    "created_at >= :since AND (created_at, rowid) < (:cursor_time, :cursor_rowid) "                \
    "ORDER BY created_at DESC, rowid DESC LIMIT :limit"
#define TR_LIST(filters) TR_LIST_SELECT filters TR_LIST_PAGE

// Indexed by which filters are present: status 1, priority 2, batch 4, owner 8.
constexpr const char *list_statements[16] = {
    TR_LIST(""),
    TR_LIST("status = :status AND "),
    TR_LIST("priority = :priority AND "),
    TR_LIST("status = :status AND priority = :priority AND "),
    TR_LIST("batch_id = :batch AND "),
    TR_LIST("status = :status AND batch_id = :batch AND "),
    TR_LIST("priority = :priority AND batch_id = :batch AND "),
    TR_LIST("status = :status AND priority = :priority AND batch_id = :batch AND "),
    TR_LIST("owner = :owner AND "),
    TR_LIST("status = :status AND owner = :owner AND "),
    TR_LIST("priority = :priority AND owner = :owner AND "),
    TR_LIST("status = :status AND priority = :priority AND owner = :owner AND "),
    TR_LIST("batch_id = :batch AND owner = :owner AND "),
    TR_LIST("status = :status AND batch_id = :batch AND owner = :owner AND "),
    TR_LIST("priority = :priority AND batch_id = :batch AND owner = :owner AND "),
    TR_LIST(
        "status = :status AND priority = :priority AND batch_id = :batch AND owner = :owner AND "),
};

#undef TR_LIST
#undef TR_LIST_PAGE
#undef TR_LIST_SELECT

} // namespace

const char *task_list_statement(int filters) {
    return list_statements[filters & 15];
}

std::string encode_cursor(const TaskCursor &cursor) {
    return cursor.created_at + "~" + std::to_string(cursor.rowid);
}

std::optional<TaskCursor> decode_cursor(const std::string &text) {
    const std::size_t tilde = text.find('~');
    if (tilde == std::string::npos)
        return std::nullopt;
    const std::string time = text.substr(0, tilde);
    const std::string rowid = text.substr(tilde + 1);
    const std::optional<TimePoint> parsed = parse_utc(time);
    if (!parsed || format_utc(*parsed) != time || rowid.empty() || rowid.size() > 18 ||
        rowid.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    return TaskCursor{time, std::stoll(rowid)};
}

JsonPtr list_tasks(Db &db, const TaskListQuery &query) {
    const int which = (query.status ? 1 : 0) | (query.priority ? 2 : 0) | (query.batch_id ? 4 : 0) |
                      (query.owner ? 8 : 0);
    Query select = db.query(list_statements[which]);
    if (query.status)
        select->bind(":status", *query.status);
    if (query.priority)
        select->bind(":priority", *query.priority);
    if (query.batch_id)
        select->bind(":batch", *query.batch_id);
    if (query.owner)
        select->bind(":owner", *query.owner);
    select->bind(":since", query.since);
    // No cursor: older than anything, i.e. from the newest task on.
    select->bind(":cursor_time", query.cursor ? query.cursor->created_at : std::string("9999"));
    select->bind(":cursor_rowid", static_cast<int64_t>(query.cursor ? query.cursor->rowid : 0));
    select->bind(":limit", query.limit + 1); // one more tells whether there is a next page

    JsonPtr tasks(json_array());
    std::optional<TaskCursor> last;
    bool more = false;
    while (select->executeStep()) {
        if (static_cast<int>(json_array_size(tasks.get())) == query.limit) {
            more = true;
            break;
        }
        SQLite::Statement &row = *select;
        JsonPtr task(json_object());
        json_t *t = task.get();
        json_object_set_new(t, "task_id", text_or_null(row.getColumn(1)));
        json_object_set_new(t, "status", text_or_null(row.getColumn(2)));
        json_object_set_new(t, "task", text_or_null(row.getColumn(3)));
        json_object_set_new(t, "priority", text_or_null(row.getColumn(4)));
        json_object_set_new(t, "batch_id", text_or_null(row.getColumn(5)));
        json_object_set_new(t, "created_at", text_or_null(row.getColumn(6)));
        json_object_set_new(t, "started_at", text_or_null(row.getColumn(7)));
        json_object_set_new(t, "completed_at", text_or_null(row.getColumn(8)));
        json_object_set_new(t, "error",
                            row.getColumn(9).isNull()
                                ? json_null()
                                : json_pack("{s:o,s:o}", "code", text_or_null(row.getColumn(9)),
                                            "message", text_or_null(row.getColumn(10))));
        json_object_set_new(t, "provider", text_or_null(row.getColumn(11)));
        json_object_set_new(t, "model", text_or_null(row.getColumn(12)));
        json_array_append_new(tasks.get(), task.release());
        last = TaskCursor{row.getColumn(6).getString(), row.getColumn(0).getInt64()};
    }
    JsonPtr page(json_object());
    json_object_set_new(page.get(), "tasks", tasks.release());
    json_object_set_new(page.get(), "next_cursor",
                        more && last ? json_string(encode_cursor(*last).c_str()) : json_null());
    return page;
}

} // namespace tr
