// GET /api/v1/tasks/{id}/events: server-sent events (text/event-stream) of a task's status
// changes, plan and steps, as they are written, ending after its final status. Every event has
// its task_events id, so a client that lost the connection resumes with Last-Event-ID and gets
// what it missed, replayed from SQLite. A stream holds a handler thread: it takes a WaitSlot
// like ?wait does, and ends after service.max_stream_seconds (the client then resumes).
#include "fcgi/handlers/routes.h"

#include "core/task.h"
#include "core/task_events.h"
#include "fcgi/handlers/common.h"
#include "fcgi/respond.h"

#include <thread>

namespace tr::fcgi {
namespace {

constexpr auto poll_interval = std::chrono::milliseconds(100);
constexpr auto keepalive_interval = std::chrono::seconds(15);

// The id after which to resume, or nullopt for a fresh stream.
std::optional<long long> resume_point(const HttpRequest &request) {
    std::optional<std::string> text = request.param("HTTP_LAST_EVENT_ID");
    if (!text)
        text = request.query_param("last_event_id");
    if (!text || text->empty())
        return std::nullopt;
    if (text->size() > 18 || text->find_first_not_of("0123456789") != std::string::npos)
        throw Error(ErrorCode::InvalidRequest,
                    "Last-Event-ID must be the id of an event this stream sent (got \"" +
                        text->substr(0, 40) + "\")");
    return std::stoll(*text);
}

bool ends_the_task(const TaskEvent &event) {
    if (event.kind != "status")
        return false;
    const JsonPtr data(json_loads(event.data.c_str(), 0, nullptr));
    const std::optional<TaskStatus> status =
        parse_task_status(json_string_member(data.get(), "status").value_or(""));
    return status && is_terminal(*status);
}

HttpResponse stream_events(HandlerContext &context, const Call &call) {
    const std::string &id = call.path_param("id");
    visible_task(context, call, id);
    const std::optional<long long> resume = resume_point(call.request);
    long long last = resume.value_or(0);
    const WaitSlot slot(context);

    HttpResponse head;
    head.status = 200;
    head.content_type = "text/event-stream; charset=utf-8";
    head.set_header("Cache-Control", "no-cache");
    head.set_header("X-Accel-Buffering", "no"); // nginx: pass each event on at once
    head.set_header("X-Request-Id", call.request.request_id);
    head.streamed = true;
    if (!call.stream(serialize_cgi(head) + "retry: 2000\n\n"))
        return head;

    // Event 0, the submission, is the same for every task and not stored (migration 0003).
    if (!resume && !call.stream("id: 0\nevent: status\ndata: {\"status\":\"queued\"}\n\n"))
        return head;
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::seconds(context.config.service.max_stream_seconds);
    auto quiet_since = std::chrono::steady_clock::now();
    for (;;) {
        bool ended = false;
        for (const TaskEvent &event : read_task_events(context.db, id, last, 100)) {
            const std::string text = "id: " + std::to_string(event.id) + "\nevent: " + event.kind +
                                     "\ndata: " + event.data + "\n\n";
            if (!call.stream(text))
                return head; // the client went away
            last = event.id;
            ended = ended || ends_the_task(event);
            quiet_since = std::chrono::steady_clock::now();
        }
        if (ended || context.process.stopping || std::chrono::steady_clock::now() >= deadline)
            return head;
        if (std::chrono::steady_clock::now() - quiet_since >= keepalive_interval) {
            if (!call.stream(": keep-alive\n\n"))
                return head;
            quiet_since = std::chrono::steady_clock::now();
        }
        std::this_thread::sleep_for(poll_interval);
    }
}

} // namespace

std::vector<Route> event_routes() {
    return {
        {Method::Get, "/api/v1/tasks/{id}/events", Scope::Read, stream_events, {"last_event_id"}}};
}

} // namespace tr::fcgi
