// Reading task_events.
#include "core/task_events.h"

namespace tr {

std::vector<TaskEvent> read_task_events(Db &db, const std::string &task_id, long long after_id,
                                        int limit) {
    Query select = db.query("SELECT id, kind, data FROM task_events WHERE task_id = ? AND id > ? "
                            "ORDER BY id LIMIT ?");
    select->bind(1, task_id);
    select->bind(2, static_cast<int64_t>(after_id));
    select->bind(3, limit);
    std::vector<TaskEvent> events;
    while (select->executeStep())
        events.push_back({select->getColumn(0).getInt64(), select->getColumn(1).getString(),
                          select->getColumn(2).getString()});
    return events;
}

} // namespace tr
