// The Client's methods, written once over the Transport: build the request, send it, turn a
// non-2xx answer into ApiError and a 2xx one into the public types.
#include "client/bad_response.h"
#include "client/client_impl.h"
#include "client/errors.h"
#include "client/follow_events.h"
#include "client/request_json.h"
#include "client/response_json.h"

#include <task_runner/client.h>

#include <algorithm>

namespace task_runner {
namespace {

using tr::client::BadResponse;
using tr::client::Reply;
using tr::client::Transport;

// The longest ?wait=N the server takes (fcgi/handlers/common.h).
constexpr std::int64_t longest_server_wait = 60;

std::string task_path(const std::string &task_id) {
    if (task_id.empty())
        throw Error("a task id must not be empty");
    return "/api/v1/tasks/" + tr::client::path_segment(task_id);
}

// Sends the request; a non-2xx answer is thrown as ApiError.
Reply call(Transport &transport, const std::string &method, const std::string &target,
           const std::string &body = "", std::chrono::seconds held = std::chrono::seconds(0)) {
    Reply reply = transport.send(method, target, body, held);
    if (reply.status < 200 || reply.status > 299)
        throw tr::client::error_from_reply(method + " " + target, reply);
    return reply;
}

// Reads a 2xx answer; one that is not the API's JSON is an ApiError too.
template <typename Read>
auto read_answer(const std::string &request, const Reply &reply, Read read)
    -> decltype(read(reply.body)) {
    try {
        return read(reply.body);
    } catch (const BadResponse &e) {
        throw ApiError(static_cast<int>(reply.status), "INVALID_RESPONSE",
                       request + ": " + e.what(), reply.request_id);
    }
}

TaskResponse read_task(const std::string &request, const Reply &reply) {
    return read_answer(request, reply, tr::client::read_task_response);
}

} // namespace

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::Client(Client &&other) noexcept = default;
Client &Client::operator=(Client &&other) noexcept = default;
Client::~Client() = default;

SubmitResponse Client::submit(const TaskRequest &request) {
    const std::string body = tr::client::task_request_body(request);
    const Reply reply = call(impl_->transport(), "POST", "/api/v1/tasks", body);
    return read_answer("POST /api/v1/tasks", reply, [&reply](std::string_view text) {
        return tr::client::read_submit_response(text, reply.status == 202);
    });
}

TaskResponse Client::get(const std::string &task_id) {
    const std::string target = task_path(task_id);
    return read_task("GET " + target, call(impl_->transport(), "GET", target));
}

TaskResponse Client::wait(const std::string &task_id, std::chrono::milliseconds timeout) {
    const std::string path = task_path(task_id);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        // Whole seconds, rounded up: the server's ?wait counts in seconds, at most 60 at a time.
        const std::int64_t seconds =
            std::clamp<std::int64_t>((left.count() + 999) / 1000, 0, longest_server_wait);
        const std::string target = seconds > 0 ? path + "?wait=" + std::to_string(seconds) : path;
        const Reply reply =
            impl_->transport().send("GET", target, "", std::chrono::seconds(seconds));
        // 503: every waiting place is taken; ask again without holding one, a little later.
        if (reply.status == 503 && seconds > 0) {
            impl_->transport().pause(std::min(left, std::chrono::milliseconds(1000)));
            continue;
        }
        if (reply.status < 200 || reply.status > 299)
            throw tr::client::error_from_reply("GET " + target, reply);
        TaskResponse task = read_task("GET " + target, reply);
        if (task.is_terminal() || seconds == 0)
            return task;
    }
}

TaskResponse Client::execute_simple_task(const std::string &task,
                                         std::chrono::milliseconds timeout) {
    return wait(submit(TaskRequest(task)).task_id, timeout);
}

TaskResponse Client::cancel(const std::string &task_id) {
    const std::string target = task_path(task_id);
    return read_task("DELETE " + target, call(impl_->transport(), "DELETE", target));
}

BatchResponse Client::batch(const BatchRequest &request) {
    const std::string target = "/api/v1/tasks/batch";
    const Reply reply =
        call(impl_->transport(), "POST", target, tr::client::batch_request_body(request));
    return read_answer("POST " + target, reply, [&reply](std::string_view text) {
        return tr::client::read_batch_response(text, reply.status == 202);
    });
}

BatchStatus Client::get_batch(const std::string &batch_id) {
    if (batch_id.empty())
        throw Error("a batch id must not be empty");
    const std::string target = "/api/v1/batches/" + tr::client::path_segment(batch_id);
    return read_answer("GET " + target, call(impl_->transport(), "GET", target),
                       tr::client::read_batch_status);
}

TaskList Client::list(const ListQuery &query) {
    const std::string target = "/api/v1/tasks" + tr::client::list_query_string(query);
    return read_answer("GET " + target, call(impl_->transport(), "GET", target),
                       tr::client::read_task_list);
}

ServiceStatus Client::status() {
    const std::string target = "/api/v1/status";
    return read_answer("GET " + target, call(impl_->transport(), "GET", target),
                       tr::client::read_service_status);
}

bool Client::healthy(std::string *json) {
    const Reply reply = impl_->transport().send("GET", "/health", "", std::chrono::seconds(0));
    if (json)
        *json = reply.body;
    return reply.status == 200;
}

EventStreamEnd Client::events(const std::string &task_id, const EventCallback &callback,
                              const EventOptions &options) {
    task_path(task_id); // refuses an empty id
    return tr::client::follow_events(impl_->transport(), task_id, callback, options);
}

bool is_terminal_status(const std::string &status) {
    return status == "completed" || status == "failed" || status == "cancelled" ||
           status == "timeout";
}

bool TaskResponse::is_terminal() const {
    return is_terminal_status(status);
}

bool TaskEvent::ends_task() const {
    return kind == "status" && status && is_terminal_status(*status);
}

const char *version() noexcept {
    return TR_VERSION;
}

} // namespace task_runner
