// The task queries the handlers and the CLI share: recording a submission and reading a task
// back in the original's TaskResponse shape (SPEC.md §3). The runner's writes live in runner/.
#pragma once

#include "core/db.h"
#include "core/json.h"
#include "core/task_request.h"
#include "core/time.h"

#include <optional>
#include <string>

namespace tr {

struct SubmittedTask {
    std::string id;
    std::string created_at;
};

// One INSERT. Throws Error(Conflict) when the id is taken, Error(ServiceUnavailable) when the
// database stays busy.
SubmittedTask insert_task(Db &db, const TaskRequest &request, TimePoint now);

enum class CancelOutcome {
    NotFound,
    Cancelled, // it was queued: cancelled at once
    Requested, // it is running: the runner stops it within a second
    Finished,  // it had already ended; nothing changed
};

// DELETE's effect, decided and written in one IMMEDIATE transaction so a runner claiming the
// task at the same moment cannot slip between the read and the write.
CancelOutcome cancel_task(Db &db, const std::string &id, TimePoint now);

// The task with its steps, read in one transaction so they agree; nullopt when unknown.
std::optional<JsonPtr> load_task(Db &db, const std::string &id);

} // namespace tr
