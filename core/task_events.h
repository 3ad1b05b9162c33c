// A task's events (status changes, plan, steps) as written by the triggers of migration 0003,
// for GET /api/v1/tasks/{id}/events.
#pragma once

#include "core/db.h"

#include <string>
#include <vector>

namespace tr {

struct TaskEvent {
    long long id = 0;
    std::string kind; // status | plan | step
    std::string data; // JSON
};

// The events after `after_id`, oldest first, at most `limit`.
std::vector<TaskEvent> read_task_events(Db &db, const std::string &task_id, long long after_id,
                                        int limit);

} // namespace tr
