// Handler helpers.
#include "fcgi/handlers/common.h"

#include "core/task.h"

#include <thread>

namespace tr::fcgi {

JsonPtr parse_body(const HttpRequest &request, const char *example) {
    if (request.body.empty())
        throw Error(ErrorCode::InvalidRequest,
                    std::string("the request body is empty; send a JSON object such as ") +
                        example);
    return parse_json(request.body);
}

TaskHead visible_task(HandlerContext &context, const Call &call, const std::string &id) {
    const std::optional<TaskHead> head = task_head(context.db, id);
    if (!head || (!call.principal.sees_all() && head->owner != call.principal.owner))
        throw Error(ErrorCode::TaskNotFound, "no task with id \"" + id.substr(0, 200) + "\"");
    return *head;
}

std::optional<int> wait_parameter(const HttpRequest &request) {
    const std::optional<std::string> text = request.query_param("wait");
    if (!text)
        return std::nullopt;
    if (text->empty() || text->size() > std::to_string(max_wait_seconds).size() ||
        text->find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(*text) > max_wait_seconds)
        throw Error(ErrorCode::InvalidRequest, "wait must be a number of seconds 0.." +
                                                   std::to_string(max_wait_seconds) + " (got \"" +
                                                   text->substr(0, 20) + "\")");
    return std::stoi(*text);
}

WaitSlot::WaitSlot(HandlerContext &context) : process_(context.process) {
    const int limit = context.config.service.max_waiting_requests;
    if (process_.waiting.fetch_add(1) >= limit) {
        process_.waiting.fetch_sub(1);
        throw Error(ErrorCode::ServiceUnavailable,
                    "too many requests are waiting already (service.max_waiting_requests = " +
                        std::to_string(limit) + "); retry shortly, or ask without wait");
    }
}

WaitSlot::~WaitSlot() {
    process_.waiting.fetch_sub(1);
}

void wake_runners(HandlerContext &context) noexcept {
    if (context.process.runners)
        context.process.runners->wake();
}

std::string wait_for_terminal(HandlerContext &context, const std::string &id, int seconds) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    for (;;) {
        const std::optional<TaskHead> head = task_head(context.db, id);
        const std::optional<TaskStatus> status =
            head ? parse_task_status(head->status) : std::nullopt;
        if (!head || (status && is_terminal(*status)) || context.process.stopping ||
            std::chrono::steady_clock::now() >= deadline)
            return head ? head->status : "";
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

} // namespace tr::fcgi
