// Follows GET /api/v1/tasks/{id}/events. The server ends a stream after the task's last event,
// but also when it stops or after service.max_stream_seconds, and a connection can break: each
// time, the stream is opened again with Last-Event-ID set to the last event delivered, so the
// callback sees every event once, in order. Only a run of failed tries with no event between
// them gives up, with the error of the last one.
#include "client/follow_events.h"

#include "client/bad_response.h"
#include "client/errors.h"
#include "client/event_stream.h"
#include "client/request_json.h"
#include "client/response_json.h"

#include <cstdlib>
#include <exception>

namespace tr::client {
namespace {

constexpr std::chrono::milliseconds default_retry{1000};
constexpr std::chrono::milliseconds longest_retry{5000};
// A stream that lasted this long and ended without an event was the server's time limit.
constexpr std::chrono::seconds long_stream{10};

struct Progress {
    task_runner::EventStreamEnd end;
    bool stopped = false; // by the callback
    int failures = 0;     // tries in a row without a new event
    std::chrono::milliseconds retry = default_retry;
};

std::int64_t event_id(const ServerSentEvent &event) {
    const std::string &text = event.id.value_or("");
    if (text.empty() || text.size() > 18 ||
        text.find_first_not_of("0123456789") != std::string::npos)
        throw BadResponse("an event id must be a number (got \"" + excerpt(text, 40) + "\")");
    return std::strtoll(text.c_str(), nullptr, 10);
}

// One connection: delivers its events to the callback, and returns the answer (its body only
// when it was not a 200 stream).
Reply stream_once(Transport &transport, const std::string &target,
                  const task_runner::EventCallback &callback, Progress &progress) {
    EventStreamParser parser;
    const auto deliver = [&](const ServerSentEvent &sse) {
        const std::int64_t id = event_id(sse);
        if (progress.end.last_event_id && id <= *progress.end.last_event_id)
            return true; // already delivered (a server replaying from before Last-Event-ID)
        const task_runner::TaskEvent event = read_task_event(id, sse.event, sse.data);
        progress.end.last_event_id = id;
        progress.failures = 0;
        if (event.ends_task()) {
            progress.end.task_ended = true;
            callback(event); // the last event: what the callback answers changes nothing
            return false;
        }
        progress.stopped = !callback(event);
        return !progress.stopped;
    };
    return transport.stream(target, progress.end.last_event_id, [&](std::string_view piece) {
        const bool go_on = parser.feed(piece, deliver);
        if (parser.retry())
            progress.retry = std::min(*parser.retry(), longest_retry);
        return go_on;
    });
}

} // namespace

task_runner::EventStreamEnd follow_events(Transport &transport, const std::string &task_id,
                                          const task_runner::EventCallback &callback,
                                          const task_runner::EventOptions &options) {
    const std::string target = "/api/v1/tasks/" + path_segment(task_id) + "/events";
    const std::string request = "GET " + target;
    Progress progress;
    progress.end.last_event_id = options.last_event_id;
    for (;;) {
        std::exception_ptr failure; // of this try, thrown when it is the last one
        const auto started = std::chrono::steady_clock::now();
        try {
            const Reply reply = stream_once(transport, target, callback, progress);
            if (progress.end.task_ended || progress.stopped)
                return progress.end;
            // 503: every waiting place of the server is taken; like a drop, try again later.
            if (reply.status == 503)
                failure = std::make_exception_ptr(error_from_reply(request, reply));
            else if (reply.status != 200)
                throw error_from_reply(request, reply);
        } catch (const BadResponse &e) {
            throw task_runner::ApiError(200, "INVALID_RESPONSE", request + ": " + e.what());
        } catch (const task_runner::TransportError &) {
            failure = std::current_exception();
        }
        // A quiet stream the server ended on time (service.max_stream_seconds) is no failure:
        // a task may stay queued for longer than one stream lasts.
        if (!failure && std::chrono::steady_clock::now() - started >= long_stream)
            progress.failures = 0;
        // Events in this try set failures to 0: such a stream is resumed at once; one that gave
        // nothing waits the server's retry: first.
        if (++progress.failures > options.reconnect_attempts) {
            if (failure)
                std::rethrow_exception(failure);
            throw task_runner::TransportError(request + ": the stream ended " +
                                              std::to_string(progress.failures) +
                                              " times in a row without an event");
        }
        if (progress.failures > 1)
            transport.pause(progress.retry);
    }
}

} // namespace tr::client
