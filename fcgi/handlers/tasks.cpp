// /api/v1/tasks: submit (idempotent by task_id, optionally waiting), list, read (optionally
// waiting), cancel.
#include "fcgi/handlers/routes.h"

#include "core/task.h"
#include "core/task_list.h"
#include "fcgi/group_commit.h"
#include "fcgi/handlers/common.h"

namespace tr::fcgi {
namespace {

constexpr const char *task_example = "{\"task\": \"list the files in .\"}";

// The task as GET shows it, answered with `ended_status` once it has ended, else
// `pending_status`.
HttpResponse task_response(HandlerContext &context, const std::string &id, int ended_status,
                           int pending_status) {
    std::optional<JsonPtr> task = load_task(context.db, id);
    if (!task)
        throw Error(ErrorCode::TaskNotFound, "no task with id \"" + id.substr(0, 200) + "\"");
    const std::optional<TaskStatus> status =
        parse_task_status(json_string_member(task->get(), "status").value_or(""));
    return json_response(status && is_terminal(*status) ? ended_status : pending_status,
                         task->get());
}

HttpResponse submit_task(HandlerContext &context, const Call &call) {
    const std::optional<int> wait = wait_parameter(call.request);
    const JsonPtr body = parse_body(call.request, task_example);
    const TaskRequest request =
        parse_task_request(body.get(), context.config, call.principal.owner);
    std::optional<WaitSlot> slot;
    if (wait && *wait > 0)
        slot.emplace(context); // before writing: a refused wait must not leave a task behind
    const TaskPlacement placement{call.principal.owner, "", 0, call.principal.key_id};
    SubmittedTask task;
    if (context.process.submissions) {
        task = context.process.submissions->submit(request, placement);
    } else {
        {
            std::lock_guard<std::mutex> writer(context.process.write_gate);
            task = insert_task(context.db, request, placement, Clock::now());
        }
        if (!task.existing)
            wake_runners(context); // the committer wakes them for what it writes
    }
    if (slot) {
        wait_for_terminal(context, task.id, *wait);
        HttpResponse response = task_response(context, task.id, 200, task.existing ? 200 : 202);
        response.set_header("Location", "/api/v1/tasks/" + task.id);
        return response;
    }
    JsonPtr reply(json_pack("{s:s,s:s,s:s}", "task_id", task.id.c_str(), "status",
                            task.status.c_str(), "created_at", task.created_at.c_str()));
    // The same request again gets the task it made the first time: 200, not a second task.
    HttpResponse response = json_response(task.existing ? 200 : 202, reply.get());
    response.set_header("Location", "/api/v1/tasks/" + task.id);
    return response;
}

HttpResponse get_task(HandlerContext &context, const Call &call) {
    const std::string &id = call.path_param("id");
    const std::optional<int> wait = wait_parameter(call.request);
    const TaskHead head = visible_task(context, call, id);
    const std::optional<TaskStatus> status = parse_task_status(head.status);
    if (wait && *wait > 0 && status && !is_terminal(*status)) {
        const WaitSlot slot(context);
        wait_for_terminal(context, id, *wait);
    }
    return task_response(context, id, 200, 200);
}

std::string required_choice(const HttpRequest &request, const char *name,
                            std::initializer_list<const char *> choices) {
    std::string value = request.query_param(name).value_or("");
    std::string names;
    for (const char *choice : choices) {
        if (value == choice)
            return value;
        names += (names.empty() ? "" : ", ") + std::string(choice);
    }
    throw Error(ErrorCode::InvalidRequest, std::string(name) + " must be one of " + names +
                                               " (got \"" + value.substr(0, 40) + "\")");
}

HttpResponse list(HandlerContext &context, const Call &call) {
    const HttpRequest &request = call.request; // only the route's parameters (router.h)
    TaskListQuery query;
    if (request.query_param("status"))
        query.status =
            required_choice(request, "status",
                            {"queued", "running", "completed", "failed", "cancelled", "timeout"});
    if (request.query_param("priority"))
        query.priority =
            required_choice(request, "priority", {"low", "normal", "high", "critical"});
    if (const std::optional<std::string> batch = request.query_param("batch_id")) {
        if (batch->empty() || batch->size() > 128)
            throw Error(ErrorCode::InvalidRequest, "batch_id must be 1..128 characters");
        query.batch_id = *batch;
    }
    if (const std::optional<std::string> since = request.query_param("since")) {
        const std::optional<TimePoint> parsed = parse_utc(*since);
        if (!parsed)
            throw Error(ErrorCode::InvalidRequest, "since must be an RFC 3339 time such as "
                                                   "2026-11-29T08:00:00Z (got \"" +
                                                       since->substr(0, 40) + "\")");
        query.since = format_utc(*parsed);
    }
    if (const std::optional<std::string> limit = request.query_param("limit")) {
        if (limit->empty() || limit->size() > 3 ||
            limit->find_first_not_of("0123456789") != std::string::npos || std::stoi(*limit) < 1 ||
            std::stoi(*limit) > max_task_page)
            throw Error(ErrorCode::InvalidRequest, "limit must be 1.." +
                                                       std::to_string(max_task_page) + " (got \"" +
                                                       limit->substr(0, 20) + "\")");
        query.limit = std::stoi(*limit);
    }
    if (const std::optional<std::string> cursor = request.query_param("cursor")) {
        query.cursor = decode_cursor(*cursor);
        if (!query.cursor)
            throw Error(
                ErrorCode::InvalidRequest,
                "cursor is not one this API gave out; pass next_cursor from the previous page");
    }
    if (!call.principal.sees_all())
        query.owner = call.principal.owner;
    const JsonPtr page = list_tasks(context.db, query);
    return json_response(200, page.get());
}

HttpResponse cancel(HandlerContext &context, const Call &call) {
    const std::string &id = call.path_param("id");
    visible_task(context, call, id);
    CancelOutcome outcome;
    {
        std::lock_guard<std::mutex> writer(context.process.write_gate);
        outcome = cancel_task(context.db, id, Clock::now());
    }
    switch (outcome) {
    case CancelOutcome::NotFound:
        throw Error(ErrorCode::TaskNotFound, "no task with id \"" + id.substr(0, 200) + "\"");
    case CancelOutcome::Finished: {
        const std::optional<TaskHead> head = task_head(context.db, id);
        throw Error(ErrorCode::Conflict, "task \"" + id + "\" has already ended (" +
                                             (head ? head->status : "finished") +
                                             "); only queued and running tasks can be cancelled");
    }
    case CancelOutcome::Cancelled:
    case CancelOutcome::Requested: break;
    }
    return task_response(context, id, 202, 202);
}

} // namespace

std::vector<Route> task_routes() {
    return {
        {Method::Post, "/api/v1/tasks", Scope::Submit, submit_task, {"wait"}},
        {Method::Get,
         "/api/v1/tasks",
         Scope::Read,
         list,
         {"status", "batch_id", "priority", "since", "limit", "cursor"}},
        {Method::Get, "/api/v1/tasks/{id}", Scope::Read, get_task, {"wait"}},
        {Method::Delete, "/api/v1/tasks/{id}", Scope::Submit, cancel},
    };
}

} // namespace tr::fcgi
