// /api/v1/tasks/batch and /api/v1/batches/{id}: several tasks at once, parallel or sequential.
#include "fcgi/handlers/routes.h"

#include "core/batch_store.h"
#include "fcgi/handlers/common.h"

namespace tr::fcgi {
namespace {

HttpResponse submit_batch(HandlerContext &context, const Call &call) {
    const JsonPtr body = parse_body(
        call.request, "{\"tasks\": [{\"task\": \"list the files in .\"}], \"mode\": \"parallel\"}");
    const BatchRequest batch =
        parse_batch_request(body.get(), context.config, call.principal.owner);
    SubmittedBatch submitted;
    {
        std::lock_guard<std::mutex> writer(context.process.write_gate);
        submitted = insert_batch(context.db, batch, call.principal.owner, Clock::now(),
                                 call.principal.key_id);
    }
    if (!submitted.existing)
        wake_runners(context);
    JsonPtr tasks(json_array());
    for (const SubmittedTask &task : submitted.tasks)
        json_array_append_new(tasks.get(), json_pack("{s:s,s:s}", "task_id", task.id.c_str(),
                                                     "status", task.status.c_str()));
    JsonPtr reply(json_pack("{s:s,s:s,s:b,s:s,s:O}", "batch_id", submitted.id.c_str(), "mode",
                            batch.sequential ? "sequential" : "parallel", "continue_on_error",
                            batch.continue_on_error, "created_at", submitted.created_at.c_str(),
                            "tasks", tasks.get()));
    // The same batch again gets the batch it made the first time: 200, nothing new.
    HttpResponse response = json_response(submitted.existing ? 200 : 202, reply.get());
    response.set_header("Location", "/api/v1/batches/" + submitted.id);
    return response;
}

HttpResponse get_batch(HandlerContext &context, const Call &call) {
    const std::string &id = call.path_param("id");
    std::optional<JsonPtr> batch =
        load_batch(context.db, id,
                   call.principal.sees_all() ? std::nullopt : std::optional(call.principal.owner));
    if (!batch)
        throw Error(ErrorCode::NotFound, "no batch with id \"" + id.substr(0, 200) + "\"");
    return json_response(200, batch->get());
}

} // namespace

std::vector<Route> batch_routes() {
    return {
        {Method::Post, "/api/v1/tasks/batch", Scope::Submit, submit_batch},
        {Method::Get, "/api/v1/batches/{id}", Scope::Read, get_batch},
    };
}

} // namespace tr::fcgi
