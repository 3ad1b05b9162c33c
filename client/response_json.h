// The API's answers read into the public types. Each takes the whole body as received and
// throws BadResponse when it is not JSON or not the shape it should be.
#pragma once

#include <task_runner/types.h>

#include <jansson.h>

#include <string_view>

namespace tr::client {

task_runner::TaskResponse read_task_response(std::string_view body);
task_runner::SubmitResponse read_submit_response(std::string_view body, bool created);
task_runner::BatchResponse read_batch_response(std::string_view body, bool created);
task_runner::BatchStatus read_batch_status(std::string_view body);
task_runner::TaskList read_task_list(std::string_view body);
task_runner::ServiceStatus read_service_status(std::string_view body);

// One event of the stream: its id, kind and data (JSON text).
task_runner::TaskEvent read_task_event(std::int64_t id, std::string kind, std::string_view data);

// Pieces, for the readers above and the tests.
task_runner::TaskMetrics read_metrics(const json_t *metrics, const std::string &where);
task_runner::ExecutionStep read_step(const json_t *step, const std::string &where);

} // namespace tr::client
