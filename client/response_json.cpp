// Reading the API's JSON answers: tolerant of fields added or left out, strict about types.
#include "client/response_json.h"

#include "client/bad_response.h"
#include "client/json_fields.h"
#include "core/error.h"
#include "core/json.h"

namespace tr::client {

using namespace task_runner; // the public types, spelled as the API spells them

namespace {

JsonPtr parse_body(std::string_view body) {
    try {
        return parse_json(body);
    } catch (const tr::Error &e) {
        throw BadResponse(std::string("the answer is not JSON: ") + e.what());
    }
}

TaskError read_task_error(const Fields &fields) {
    return {fields.string_or("code"), fields.string_or("message")};
}

std::optional<TaskError> optional_task_error(const Fields &parent, const char *key) {
    const std::optional<Fields> error = parent.object(key);
    if (!error)
        return std::nullopt;
    return read_task_error(*error);
}

TaskPlan read_plan(const Fields &fields) {
    TaskPlan plan;
    plan.understanding = fields.string_or("understanding");
    plan.approach = fields.string_or("approach");
    plan.complexity = fields.string_or("complexity");
    plan.estimated_steps = fields.integer_or("estimated_steps");
    plan.requirements = fields.strings("requirements");
    plan.json = dump_json(fields.get());
    return plan;
}

TaskResult read_result(const Fields &fields) {
    TaskResult result;
    result.success = fields.boolean_or("success");
    result.summary = fields.string_or("summary");
    result.details = fields.string_or("details");
    result.execution_time = fields.number_or("execution_time");
    const std::vector<const json_t *> artifacts = fields.array("artifacts");
    for (std::size_t i = 0; i < artifacts.size(); ++i) {
        const Fields artifact(artifacts[i], fields.item_where("artifacts", i));
        result.artifacts.push_back({artifact.string_or("path"), artifact.integer_or("size")});
    }
    return result;
}

TokenUsage read_token_usage(const Fields &fields) {
    TokenUsage usage;
    usage.input = fields.integer_or("input");
    usage.output = fields.integer_or("output");
    usage.total = fields.integer_or("total", usage.input + usage.output);
    return usage;
}

std::vector<BatchTask> read_batch_tasks(const Fields &fields) {
    std::vector<BatchTask> tasks;
    const std::vector<const json_t *> items = fields.array("tasks");
    for (std::size_t i = 0; i < items.size(); ++i) {
        const Fields task(items[i], fields.item_where("tasks", i));
        tasks.push_back({task.required_string("task_id"), task.required_string("status")});
    }
    return tasks;
}

TaskSummary read_summary(const Fields &fields) {
    TaskSummary summary;
    summary.task_id = fields.required_string("task_id");
    summary.status = fields.required_string("status");
    summary.task = fields.string_or("task");
    summary.priority = fields.string_or("priority");
    summary.batch_id = fields.optional_string("batch_id");
    summary.created_at = fields.string_or("created_at");
    summary.started_at = fields.optional_string("started_at");
    summary.completed_at = fields.optional_string("completed_at");
    summary.error = optional_task_error(fields, "error");
    summary.provider = fields.optional_string("provider");
    summary.model = fields.optional_string("model");
    return summary;
}

} // namespace

// Two shapes during the move to the original project's: tools_used and tokens_used were a list
// of names and an object {input, output, total}; they are becoming numbers, with the richer
// data under tool_names and tokens. Either reads into the same TaskMetrics.
TaskMetrics read_metrics(const json_t *json, const std::string &where) {
    const Fields fields(json, where);
    TaskMetrics metrics;
    metrics.total_execution_time = fields.number_or("total_execution_time");
    metrics.planning_time_ms = fields.integer_or("planning_time_ms");
    metrics.execution_time_ms = fields.integer_or("execution_time_ms");
    metrics.steps_executed = fields.integer_or("steps_executed");
    metrics.tool_calls = fields.integer_map("tool_calls");
    metrics.tool_time_ms = fields.integer_map("tool_time_ms");
    metrics.model_calls = fields.integer_or("model_calls");
    metrics.tool_names = fields.strings("tool_names");

    const json_t *tools_used = fields.member("tools_used");
    if (json_is_array(tools_used)) {
        if (metrics.tool_names.empty())
            metrics.tool_names = fields.strings("tools_used");
        metrics.tools_used = metrics.steps_executed;
    } else {
        metrics.tools_used = fields.integer_or("tools_used");
    }
    if (const std::optional<Fields> tokens = fields.object("tokens"))
        metrics.tokens = read_token_usage(*tokens);
    if (json_is_object(fields.member("tokens_used"))) {
        metrics.tokens = read_token_usage(*fields.object("tokens_used"));
        metrics.tokens_used = metrics.tokens.total;
    } else {
        metrics.tokens_used = fields.integer_or("tokens_used", metrics.tokens.total);
    }
    return metrics;
}

ExecutionStep read_step(const json_t *json, const std::string &where) {
    const Fields fields(json, where);
    ExecutionStep step;
    step.step_number = fields.integer_or("step_number");
    step.step_type = fields.string_or("step_type");
    step.description = fields.string_or("description");
    step.tool = fields.optional_string("tool");
    step.input_json = fields.json_text("input");
    step.output = fields.optional_string("output");
    step.status = fields.string_or("status");
    step.error = fields.optional_string("error");
    step.execution_time_ms = fields.optional_integer("execution_time_ms");
    if (const std::optional<Fields> tokens = fields.object("tokens"))
        step.tokens =
            StepTokens{tokens->optional_integer("input"), tokens->optional_integer("output")};
    step.timestamp = fields.string_or("timestamp");
    step.attempt = fields.integer_or("attempt", 1);
    return step;
}

TaskResponse read_task_response(std::string_view body) {
    const JsonPtr json = parse_body(body);
    const Fields fields(json.get(), "task");
    TaskResponse task;
    task.task_id = fields.required_string("task_id");
    task.status = fields.required_string("status");
    task.task = fields.string_or("task");
    task.priority = fields.string_or("priority");
    task.metadata_json = fields.json_text("metadata");
    task.batch_id = fields.optional_string("batch_id");
    if (const std::optional<Fields> plan = fields.object("plan"))
        task.plan = read_plan(*plan);
    if (const std::optional<Fields> result = fields.object("result"))
        task.result = read_result(*result);
    if (const json_t *metrics = fields.member("metrics"))
        task.metrics = read_metrics(metrics, "task.metrics");
    task.error = optional_task_error(fields, "error");
    task.attempts = fields.integer_or("attempts");
    task.provider = fields.optional_string("provider");
    task.model = fields.optional_string("model");
    task.created_at = fields.string_or("created_at");
    task.started_at = fields.optional_string("started_at");
    task.completed_at = fields.optional_string("completed_at");
    const std::vector<const json_t *> steps = fields.array("steps");
    for (std::size_t i = 0; i < steps.size(); ++i)
        task.steps.push_back(read_step(steps[i], fields.item_where("steps", i)));
    task.json = std::string(body);
    return task;
}

SubmitResponse read_submit_response(std::string_view body, bool created) {
    const JsonPtr json = parse_body(body);
    const Fields fields(json.get(), "submission");
    SubmitResponse answer;
    answer.task_id = fields.required_string("task_id");
    answer.status = fields.required_string("status");
    answer.created_at = fields.string_or("created_at");
    answer.created = created;
    answer.json = std::string(body);
    return answer;
}

BatchResponse read_batch_response(std::string_view body, bool created) {
    const JsonPtr json = parse_body(body);
    const Fields fields(json.get(), "batch");
    BatchResponse batch;
    batch.batch_id = fields.required_string("batch_id");
    batch.mode = fields.string_or("mode");
    batch.continue_on_error = fields.boolean_or("continue_on_error");
    batch.created_at = fields.string_or("created_at");
    batch.tasks = read_batch_tasks(fields);
    batch.created = created;
    batch.json = std::string(body);
    return batch;
}

BatchStatus read_batch_status(std::string_view body) {
    const JsonPtr json = parse_body(body);
    const Fields fields(json.get(), "batch");
    BatchStatus batch;
    batch.batch_id = fields.required_string("batch_id");
    batch.mode = fields.string_or("mode");
    batch.continue_on_error = fields.boolean_or("continue_on_error");
    batch.created_at = fields.string_or("created_at");
    batch.status = fields.required_string("status");
    batch.tasks = read_batch_tasks(fields);
    if (const std::optional<Fields> stats = fields.object("statistics")) {
        BatchStatistics &s = batch.statistics;
        s.total_tasks = stats->integer_or("total_tasks");
        s.completed_tasks = stats->integer_or("completed_tasks");
        s.failed_tasks = stats->integer_or("failed_tasks");
        s.cancelled_tasks = stats->integer_or("cancelled_tasks");
        s.running_tasks = stats->integer_or("running_tasks");
        s.queued_tasks = stats->integer_or("queued_tasks");
        s.total_execution_time = stats->number_or("total_execution_time");
        s.average_execution_time = stats->number_or("average_execution_time");
    }
    batch.json = std::string(body);
    return batch;
}

TaskList read_task_list(std::string_view body) {
    const JsonPtr json = parse_body(body);
    const Fields fields(json.get(), "list");
    TaskList list;
    const std::vector<const json_t *> tasks = fields.array("tasks");
    for (std::size_t i = 0; i < tasks.size(); ++i)
        list.tasks.push_back(read_summary(Fields(tasks[i], fields.item_where("tasks", i))));
    list.next_cursor = fields.optional_string("next_cursor");
    list.json = std::string(body);
    return list;
}

ServiceStatus read_service_status(std::string_view body) {
    const JsonPtr json = parse_body(body);
    const Fields fields(json.get(), "status");
    ServiceStatus status;
    status.version = fields.string_or("version");
    status.uptime_seconds = fields.integer_or("uptime_seconds");
    status.queue_depth = fields.integer_or("queue_depth");
    if (const std::optional<Fields> tasks = fields.object("tasks")) {
        status.tasks.queued = tasks->integer_or("queued");
        status.tasks.running = tasks->integer_or("running");
        status.tasks.completed = tasks->integer_or("completed");
        status.tasks.failed = tasks->integer_or("failed");
        status.tasks.cancelled = tasks->integer_or("cancelled");
        status.tasks.timeout = tasks->integer_or("timeout");
    }
    if (const std::optional<Fields> runners = fields.object("runners")) {
        status.runners_alive = runners->integer_or("alive");
        status.last_heartbeat = runners->optional_string("last_heartbeat");
    }
    status.sandbox = fields.optional_string("sandbox");
    status.json = std::string(body);
    return status;
}

TaskEvent read_task_event(std::int64_t id, std::string kind, std::string_view data) {
    const JsonPtr json = parse_body(data);
    const std::string where = "event " + std::to_string(id);
    const Fields fields(json.get(), where);
    TaskEvent event;
    event.id = id;
    event.kind = std::move(kind);
    event.data_json = std::string(data);
    if (event.kind == "status") {
        event.status = fields.required_string("status");
        event.error = optional_task_error(fields, "error");
    } else if (event.kind == "plan") {
        event.plan = read_plan(fields);
    } else if (event.kind == "step") {
        event.step = read_step(json.get(), where);
    }
    return event;
}

} // namespace tr::client
