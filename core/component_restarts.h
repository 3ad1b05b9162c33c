// The launcher's restarts of the stack's components (task-runner serve), kept in SQLite so that
// the handlers can show them in /api/v1/status. Counted since the database was made, like the
// metrics counters: a new `serve` on the same database adds to them.
#pragma once

#include "core/db.h"
#include "core/time.h"

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tr {

// The components as the launcher names them, in the order the status lists them.
inline constexpr std::array<std::string_view, 3> stack_components = {"runner", "fcgi", "nginx"};

struct ComponentRestarts {
    std::string component;
    long long restarts = 0;
    std::optional<std::string> last_exit;       // how the process ended: "exit code 1", ...
    std::optional<std::string> last_restart_at; // RFC 3339
};

// One more restart of `component`, which last ended as `last_exit`, made at `now`.
void record_component_restart(Db &db, std::string_view component, std::string_view last_exit,
                              TimePoint now);

// Every one of stack_components, in that order; zero and nulls for one never restarted.
std::vector<ComponentRestarts> read_component_restarts(Db &db);

} // namespace tr
