// /api/v1/tasks: submitting a task and reading it back.
#include "fcgi/handlers/routes.h"

#include "core/task_store.h"

namespace tr::fcgi {
namespace {

JsonPtr parse_body(const HttpRequest &request) {
    if (request.body.empty())
        throw Error(ErrorCode::InvalidRequest, "the request body is empty; send a JSON object such "
                                               "as {\"task\": \"list the files in .\"}");
    return parse_json(request.body);
}

HttpResponse submit_task(HandlerContext &context, const Call &call) {
    const JsonPtr body = parse_body(call.request);
    const TaskRequest request = parse_task_request(body.get(), context.config);
    const SubmittedTask task = insert_task(context.db, request, Clock::now());
    JsonPtr reply(json_pack("{s:s,s:s,s:s}", "task_id", task.id.c_str(), "status", "queued",
                            "created_at", task.created_at.c_str()));
    HttpResponse response = json_response(202, reply.get());
    response.set_header("Location", "/api/v1/tasks/" + task.id);
    return response;
}

HttpResponse get_task(HandlerContext &context, const Call &call) {
    const std::string &id = call.path_param("id");
    std::optional<JsonPtr> task = load_task(context.db, id);
    if (!task)
        throw Error(ErrorCode::TaskNotFound, "no task with id \"" + id.substr(0, 200) + "\"");
    return json_response(200, task->get());
}

HttpResponse cancel(HandlerContext &context, const Call &call) {
    const std::string &id = call.path_param("id");
    switch (cancel_task(context.db, id, Clock::now())) {
    case CancelOutcome::NotFound:
        throw Error(ErrorCode::TaskNotFound, "no task with id \"" + id.substr(0, 200) + "\"");
    case CancelOutcome::Finished: {
        const std::optional<JsonPtr> task = load_task(context.db, id);
        throw Error(
            ErrorCode::Conflict,
            "task \"" + id + "\" has already ended (" +
                json_string_member(task ? task->get() : nullptr, "status").value_or("finished") +
                "); only queued and running tasks can be cancelled");
    }
    case CancelOutcome::Cancelled:
    case CancelOutcome::Requested: break;
    }
    std::optional<JsonPtr> task = load_task(context.db, id);
    return json_response(202, task->get());
}

} // namespace

std::vector<Route> task_routes() {
    return {
        {Method::Post, "/api/v1/tasks", submit_task},
        {Method::Get, "/api/v1/tasks/{id}", get_task},
        {Method::Delete, "/api/v1/tasks/{id}", cancel},
    };
}

} // namespace tr::fcgi
