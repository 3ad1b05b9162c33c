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
    std::string status;
    bool existing = false; // the same request was submitted before: nothing new was written
};

struct TaskPlacement {
    std::string owner;    // the submitting key's owner; empty without authentication
    std::string batch_id; // empty: not in a batch
    int batch_seq = 0;
    std::string key_id; // the submitting API key, whose secret signs callbacks; empty: none
};

// SHA-256 of the request in canonical form (defaults filled in, keys sorted): what makes a
// task_id an idempotency key. Equal requests, however their JSON was spelt, are equal.
std::string request_fingerprint(const TaskRequest &request);

// One INSERT. A task_id already used by the same owner for the same request is not an error:
// the existing task comes back with existing = true. Throws Error(Conflict) when the id was used
// for another request (or by another owner), Error(ServiceUnavailable) when the database stays
// busy.
SubmittedTask insert_task(Db &db, const TaskRequest &request, const TaskPlacement &placement,
                          TimePoint now);

struct TaskHead {
    std::string status;
    std::string owner; // empty when submitted without authentication
};

// The few columns that decide visibility and waiting: one indexed read.
std::optional<TaskHead> task_head(Db &db, const std::string &id);

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
