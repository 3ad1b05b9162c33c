// Runner liveness, as every component sees it: a runner is alive while its heartbeat is recent.
#pragma once

#include "core/db.h"
#include "core/time.h"

#include <chrono>
#include <optional>
#include <string>

namespace tr {

inline constexpr std::chrono::seconds runner_heartbeat_interval{2};
// Several missed beats, so one slow disk write does not make a runner look dead.
inline constexpr std::chrono::seconds runner_alive_window{10};

struct RunnerSummary {
    int alive = 0;
    std::optional<std::string> last_heartbeat; // newest heartbeat of any runner, alive or not
    // What the live runners' commands run in: "bubblewrap", "none", both ("bubblewrap, none"),
    // or "" with no runner alive.
    std::string sandbox;
};

RunnerSummary summarize_runners(Db &db, TimePoint now);

} // namespace tr
