// The public request types as the API's JSON bodies.
#pragma once

#include <task_runner/types.h>

#include <string>

namespace tr::client {

// Throws task_runner::Error when metadata_json is set but not a JSON object (nothing is sent).
std::string task_request_body(const task_runner::TaskRequest &request);
std::string batch_request_body(const task_runner::BatchRequest &request);
// "?status=running&limit=5", percent-encoded; "" when no filter is set.
std::string list_query_string(const task_runner::ListQuery &query);

// A path segment percent-encoded (a task id of the caller's, into /api/v1/tasks/{id}).
std::string path_segment(const std::string &text);

} // namespace tr::client
