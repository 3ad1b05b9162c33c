// The requests and responses of the Task Runner API as C++ values. Field names are the JSON's
// (GET /api/v1/openapi.json describes each); a field the API may leave out or set to null is a
// std::optional. Values that are free-form JSON (metadata, a step's input) are kept as JSON
// text, and every response also keeps the whole document it was read from in `json`, so a
// program can print or store exactly what the server said.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace task_runner {

// ---- requests -------------------------------------------------------------------------------

// Limits that narrow the server's (never widen them).
struct TaskConstraints {
    std::optional<std::int64_t> max_execution_time; // seconds
    std::optional<std::int64_t> max_steps;          // tool calls
    std::optional<std::int64_t> max_tokens;
    std::vector<std::string> allowed_paths; // empty: the server's
};

struct TaskContext {
    std::optional<std::string> working_directory;
    std::map<std::string, std::string> environment;
    std::vector<std::string> tools; // empty: every tool the server enables
    TaskConstraints constraints;
};

struct TaskRequest {
    std::string task;                    // what to do, in plain language
    std::optional<std::string> task_id;  // your own id: resubmitting it is idempotent
    std::optional<std::string> priority; // low, normal (the server's default), high, critical
    // Kept and returned as is. `metadata` is sent as an object of strings; `metadata_json`, when
    // not empty, is sent instead (any JSON object, as text).
    std::map<std::string, std::string> metadata;
    std::string metadata_json;
    std::optional<TaskContext> context;
    // http(s) URL the server POSTs the finished task to, signed (README "Webhooks").
    std::optional<std::string> callback_url;

    TaskRequest() = default;
    // Implicit: a task is its text, so client.submit("list the files in .") reads as it should.
    TaskRequest(std::string text) : task(std::move(text)) {}
};

struct BatchRequest {
    std::vector<TaskRequest> tasks;
    std::optional<std::string> mode; // parallel (the server's default) or sequential
    std::optional<bool> continue_on_error;
    std::optional<std::string> callback_url; // told once every task of the batch has ended
};

// GET /api/v1/tasks filters; unset ones are not sent.
struct ListQuery {
    std::optional<std::string> status;
    std::optional<std::string> batch_id;
    std::optional<std::string> priority;
    std::optional<std::string> since;  // RFC 3339
    std::optional<int> limit;          // 1..100
    std::optional<std::string> cursor; // TaskList::next_cursor of the previous page
};

// ---- responses ------------------------------------------------------------------------------

// Why a task ended without completing: PLANNING_FAILED, TIMEOUT, CANCELLED...
struct TaskError {
    std::string code;
    std::string message;
};

struct TaskPlan {
    std::string understanding;
    std::string approach;
    std::string complexity; // simple, moderate, complex
    std::int64_t estimated_steps = 0;
    std::vector<std::string> requirements;
    std::string json; // the whole plan: a model may add fields of its own
};

struct Artifact {
    std::string path;
    std::int64_t size = 0;
};

struct TaskResult {
    bool success = false;
    std::string summary;
    std::string details;
    std::vector<Artifact> artifacts;
    double execution_time = 0; // seconds
};

struct StepTokens {
    std::optional<std::int64_t> input;
    std::optional<std::int64_t> output;
};

// One model call or tool call. Step events carry the same fields, some of them not yet known.
struct ExecutionStep {
    std::int64_t step_number = 0;
    std::string step_type; // planning, tool_use, analysis, completion
    std::string description;
    std::optional<std::string> tool;
    std::string input_json; // the tool's arguments as JSON text; "null" when none or unknown
    std::optional<std::string> output;
    std::string status; // running, completed, failed, skipped, interrupted
    std::optional<std::string> error;
    std::optional<std::int64_t> execution_time_ms;
    std::optional<StepTokens> tokens;
    std::string timestamp;
    std::int64_t attempt = 1;
};

struct TokenUsage {
    std::int64_t input = 0;
    std::int64_t output = 0;
    std::int64_t total = 0;
};

// The original project's TaskMetrics: tools_used is the number of tool calls made, tokens_used
// the tokens in and out. The names of the tools and the tokens by direction are beside them.
struct TaskMetrics {
    double total_execution_time = 0; // seconds
    std::int64_t planning_time_ms = 0;
    std::int64_t execution_time_ms = 0;
    std::int64_t steps_executed = 0;
    std::int64_t tools_used = 0;
    std::vector<std::string> tool_names; // each tool called, once, in name order
    std::map<std::string, std::int64_t> tool_calls;
    std::map<std::string, std::int64_t> tool_time_ms;
    std::int64_t model_calls = 0;
    std::int64_t tokens_used = 0;
    TokenUsage tokens;
};

struct TaskResponse {
    std::string task_id;
    std::string status; // queued, running, completed, failed, cancelled, timeout
    std::string task;
    std::string priority;
    std::string metadata_json; // "null" when none
    std::optional<std::string> batch_id;
    std::optional<TaskPlan> plan;
    std::optional<TaskResult> result;
    std::optional<TaskMetrics> metrics;
    std::optional<TaskError> error;
    std::int64_t attempts = 0;
    std::optional<std::string> provider;
    std::optional<std::string> model;
    std::string created_at;
    std::optional<std::string> started_at;
    std::optional<std::string> completed_at;
    std::vector<ExecutionStep> steps;
    std::string json; // the whole document as the server sent it

    // completed, failed, cancelled or timeout: nothing about the task changes any more.
    bool is_terminal() const;
};

// The answer to a submission.
struct SubmitResponse {
    std::string task_id;
    std::string status;
    std::string created_at;
    bool created = false; // false: the task_id was in use by the same request (idempotent repeat)
    std::string json;
};

struct BatchTask {
    std::string task_id;
    std::string status;
};

struct BatchResponse {
    std::string batch_id;
    std::string mode;
    bool continue_on_error = false;
    std::string created_at;
    std::vector<BatchTask> tasks; // in the order given
    // false: the very same batch had been submitted before (every task_id given, each naming
    // the task at its position), and the answer is that batch, nothing new created (200)
    bool created = false;
    std::string json;
};

struct BatchStatistics {
    std::int64_t total_tasks = 0;
    std::int64_t completed_tasks = 0;
    std::int64_t failed_tasks = 0; // failed or timeout
    std::int64_t cancelled_tasks = 0;
    std::int64_t running_tasks = 0;
    std::int64_t queued_tasks = 0;
    double total_execution_time = 0;
    double average_execution_time = 0;
};

// GET /api/v1/batches/{id}.
struct BatchStatus {
    std::string batch_id;
    std::string mode;
    bool continue_on_error = false;
    std::string created_at;
    std::string status; // queued, running, completed, cancelled, failed
    std::vector<BatchTask> tasks;
    BatchStatistics statistics;
    std::string json;
};

// A task in a list: no plan, steps, result or metrics.
struct TaskSummary {
    std::string task_id;
    std::string status;
    std::string task;
    std::string priority;
    std::optional<std::string> batch_id;
    std::string created_at;
    std::optional<std::string> started_at;
    std::optional<std::string> completed_at;
    std::optional<TaskError> error;
    std::optional<std::string> provider;
    std::optional<std::string> model;
};

struct TaskList {
    std::vector<TaskSummary> tasks; // newest first
    std::optional<std::string> next_cursor;
    std::string json;
};

struct TaskCounts {
    std::int64_t queued = 0;
    std::int64_t running = 0;
    std::int64_t completed = 0;
    std::int64_t failed = 0;
    std::int64_t cancelled = 0;
    std::int64_t timeout = 0;
};

// GET /api/v1/status; `json` has the rest (runners, model, components).
struct ServiceStatus {
    std::string version;
    std::int64_t uptime_seconds = 0;
    std::int64_t queue_depth = 0;
    TaskCounts tasks;
    std::int64_t runners_alive = 0;
    std::optional<std::string> last_heartbeat;
    std::optional<std::string> sandbox;
    std::string json;
};

// One event of GET /api/v1/tasks/{id}/events.
struct TaskEvent {
    std::int64_t id = 0;
    std::string kind;      // status, plan, step (others may come: keep going)
    std::string data_json; // the event's data as sent
    // Filled by kind: status (and error, for a status that ended the task badly), plan, step.
    std::optional<std::string> status;
    std::optional<TaskError> error;
    std::optional<TaskPlan> plan;
    std::optional<ExecutionStep> step;

    // A status event with a terminal status: the last event of the task.
    bool ends_task() const;
};

// completed, failed, cancelled, timeout.
bool is_terminal_status(const std::string &status);

} // namespace task_runner
