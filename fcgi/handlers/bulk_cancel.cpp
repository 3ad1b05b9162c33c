// POST /api/v1/tasks/cancel: cancels every queued task matching a filter (priority, batch_id,
// since), the caller's own unless it is admin. A slice of tasks a transaction
// (core/bulk_cancel.h), each under the process's write gate, so submissions interleave.
#include "fcgi/handlers/routes.h"

#include "core/bulk_cancel.h"
#include "core/task.h"
#include "fcgi/handlers/common.h"

#include <thread>

namespace tr::fcgi {
namespace {

constexpr const char *bulk_cancel_example =
    "{\"status\": \"queued\", \"priority\": \"low\", \"batch_id\": \"...\", "
    "\"since\": \"2026-11-29T08:00:00Z\"}";

// A member that must be a string when present.
std::optional<std::string> string_member(const json_t *body, const char *name) {
    const json_t *value = json_object_get(body, name);
    if (!value || json_is_null(value))
        return std::nullopt;
    if (!json_is_string(value))
        throw Error(ErrorCode::InvalidRequest,
                    std::string(name) + " must be a string (got " + json_type_name(value) + ")");
    return std::string(json_string_value(value), json_string_length(value));
}

void refuse_unknown_members(json_t *body) {
    const char *name = nullptr;
    json_t *value = nullptr;
    json_object_foreach(body, name, value) {
        const std::string_view key(name);
        if (key != "status" && key != "priority" && key != "batch_id" && key != "since")
            throw Error(ErrorCode::InvalidRequest,
                        "unknown field \"" + std::string(key.substr(0, 40)) +
                            "\" (the filter takes status, priority, batch_id, since)");
    }
}

QueuedTaskFilter parse_filter(json_t *body) {
    if (!json_is_object(body))
        throw Error(ErrorCode::InvalidRequest, std::string("the body must be a JSON object (got ") +
                                                   json_type_name(body) + ")");
    refuse_unknown_members(body);
    const std::optional<std::string> status = string_member(body, "status");
    if (status != std::optional<std::string>("queued"))
        throw Error(ErrorCode::InvalidRequest,
                    "status must be \"queued\" (got " +
                        (status ? "\"" + status->substr(0, 40) + "\"" : std::string("none")) +
                        "): only queued tasks are cancelled in bulk; cancel a running one with "
                        "DELETE /api/v1/tasks/{id}");
    QueuedTaskFilter filter;
    filter.priority = string_member(body, "priority");
    if (filter.priority && !parse_priority(*filter.priority))
        throw Error(ErrorCode::InvalidRequest,
                    "priority must be one of low, normal, high, critical (got \"" +
                        filter.priority->substr(0, 40) + "\")");
    filter.batch_id = string_member(body, "batch_id");
    if (filter.batch_id && (filter.batch_id->empty() || filter.batch_id->size() > 128))
        throw Error(ErrorCode::InvalidRequest, "batch_id must be 1..128 characters");
    if (const std::optional<std::string> since = string_member(body, "since")) {
        const std::optional<TimePoint> parsed = parse_utc(*since);
        if (!parsed)
            throw Error(ErrorCode::InvalidRequest, "since must be an RFC 3339 time such as "
                                                   "2026-11-29T08:00:00Z (got \"" +
                                                       since->substr(0, 40) + "\")");
        filter.since = format_utc(*parsed);
    }
    return filter;
}

HttpResponse cancel_matching(HandlerContext &context, const Call &call) {
    const JsonPtr body = parse_body(call.request, bulk_cancel_example);
    QueuedTaskFilter filter = parse_filter(body.get());
    if (!call.principal.sees_all())
        filter.owner = call.principal.owner;
    const TimePoint now = Clock::now();
    filter.until = format_utc(now);
    long long cancelled = 0;
    for (;;) { // ends: each slice leaves fewer matching tasks, and none can be added (until)
        int slice = 0;
        {
            std::lock_guard<std::mutex> writer(context.process.write_gate);
            slice = cancel_queued_slice(context.db, filter, now, bulk_cancel_slice);
        }
        cancelled += slice;
        if (slice < bulk_cancel_slice)
            break;
        // std::mutex is not fair: taken again at once, the gate went to this loop before the
        // submissions waiting on it (60,000 queued: a submission waited 1.7 s, 0.3 s with this).
        std::this_thread::yield();
    }
    JsonPtr reply(json_pack("{s:I}", "cancelled", static_cast<json_int_t>(cancelled)));
    return json_response(200, reply.get());
}

} // namespace

std::vector<Route> bulk_cancel_routes() {
    return {{Method::Post, "/api/v1/tasks/cancel", Scope::Submit, cancel_matching}};
}

} // namespace tr::fcgi
