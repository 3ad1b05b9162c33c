// The component_restarts table (db/migrations/0005_attempts.sql).
#include "core/component_restarts.h"

namespace tr {

void record_component_restart(Db &db, std::string_view component, std::string_view last_exit,
                              TimePoint now) {
    Query upsert =
        db.query("INSERT INTO component_restarts (component, restarts, last_exit, last_restart_at) "
                 "VALUES (?, 1, ?, ?) ON CONFLICT (component) DO UPDATE SET "
                 "restarts = restarts + 1, last_exit = excluded.last_exit, "
                 "last_restart_at = excluded.last_restart_at");
    upsert->bind(1, std::string(component));
    upsert->bind(2, std::string(last_exit));
    upsert->bind(3, format_utc(now));
    upsert->exec();
}

std::vector<ComponentRestarts> read_component_restarts(Db &db) {
    std::vector<ComponentRestarts> all;
    Query select = db.query("SELECT restarts, last_exit, last_restart_at FROM component_restarts "
                            "WHERE component = ?");
    for (const std::string_view component : stack_components) {
        ComponentRestarts row{std::string(component), 0, std::nullopt, std::nullopt};
        select->reset(); // the previous component's row read, its binding replaced below
        select->bind(1, row.component);
        if (select->executeStep()) {
            row.restarts = select->getColumn(0).getInt64();
            row.last_exit = optional_text(select->getColumn(1));
            row.last_restart_at = optional_text(select->getColumn(2));
        }
        all.push_back(std::move(row));
    }
    return all;
}

} // namespace tr
