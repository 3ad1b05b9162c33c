// Batches (POST /api/v1/tasks/batch, GET /api/v1/batches/{id}): several tasks submitted in one
// transaction, run in parallel or one after the other. A sequential batch runs its tasks in
// order (the runners' claim skips a task while an earlier one of its batch is unfinished), and
// stops at a task that does not complete unless continue_on_error (the rest are cancelled by a
// trigger, migration 0003).
#pragma once

#include "core/config.h"
#include "core/db.h"
#include "core/json.h"
#include "core/task_request.h"
#include "core/task_store.h"
#include "core/time.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tr {

inline constexpr std::size_t max_batch_tasks = 100;

struct BatchRequest {
    std::vector<TaskRequest> tasks;
    bool sequential = false;
    bool continue_on_error = false;
    std::optional<std::string> callback_url; // told when the whole batch has ended
};

// Validates the whole batch first; a problem names the task: "tasks[2].priority must be ...".
// Throws Error(InvalidRequest).
BatchRequest parse_batch_request(const json_t *body, const Config &config, std::string_view owner);

struct SubmittedBatch {
    std::string id;
    std::string created_at;
    std::vector<SubmittedTask> tasks;
    bool existing = false; // the same batch was submitted before: nothing new was written
};

// All or nothing: one transaction. The same batch sent again (every task_id given, each naming
// the task at the same position of one earlier batch of the same owner, with the same request,
// mode and continue_on_error) is a retry: nothing is written and that batch comes back with
// existing = true, as a task_id makes POST /api/v1/tasks idempotent. Throws Error(Conflict)
// when any other use of a taken task_id is made.
// `key_id` is the submitting API key (empty: none), whose secret signs the callbacks.
SubmittedBatch insert_batch(Db &db, const BatchRequest &batch, const std::string &owner,
                            TimePoint now, const std::string &key_id = {});

// The batch with its tasks' statuses, its aggregate status and the original's statistics;
// nullopt when unknown. `owner` set: only that owner's batch is found.
std::optional<JsonPtr> load_batch(Db &db, const std::string &id,
                                  const std::optional<std::string> &owner);

} // namespace tr
