// GET /api/v1/tasks: newest first, filtered, in pages. Pages are keyset pagination on
// (created_at, rowid), so a page is an index range read however deep it is, and tasks added
// while a client pages through never shift or repeat what it sees.
#pragma once

#include "core/db.h"
#include "core/json.h"

#include <optional>
#include <string>

namespace tr {

inline constexpr int max_task_page = 100;

struct TaskCursor {
    std::string created_at;
    long long rowid = 0;
};

struct TaskListQuery {
    std::optional<std::string> status;
    std::optional<std::string> priority;
    std::optional<std::string> batch_id;
    std::optional<std::string> owner; // set for keys that see only their owner's tasks
    std::string since;                // RFC 3339, normalised; "" for no lower bound
    std::optional<TaskCursor> cursor; // the page after this task
    int limit = 20;
};

// {"tasks": [...], "next_cursor": "..." or null}
JsonPtr list_tasks(Db &db, const TaskListQuery &query);

// The statement list_tasks uses for a combination of filters (status 1, priority 2, batch 4,
// owner 8): for checking its query plan.
const char *task_list_statement(int filters);

// An opaque cursor ("<created_at>~<rowid>") and back; nullopt for anything not made by encode.
std::string encode_cursor(const TaskCursor &cursor);
std::optional<TaskCursor> decode_cursor(const std::string &text);

} // namespace tr
