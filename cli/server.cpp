// HTTP calls to the Task Runner API, and the event stream.
#include "cli/server.h"

#include "cli/interrupt.h"
#include "cli/usage_error.h"
#include "core/error.h"

#include <chrono>
#include <thread>

namespace tr::cli {
namespace {

constexpr std::chrono::seconds request_timeout{30};
constexpr std::chrono::seconds give_up_after{30};

std::string escaped(const std::string &text) {
    char *escaped_text = curl_easy_escape(nullptr, text.c_str(), static_cast<int>(text.size()));
    std::string result = escaped_text ? escaped_text : "";
    curl_free(escaped_text);
    return result;
}

ApiError error_from_reply(const std::string &what, long status, const std::string &body) {
    JsonPtr parsed(json_loads(body.c_str(), 0, nullptr));
    const json_t *error = json_object_get(parsed.get(), "error");
    const std::optional<std::string> code = json_string_member(error, "code");
    if (!code)
        return ApiError(status, "HTTP_" + std::to_string(status),
                        what + ": the server answered " + std::to_string(status) +
                            " without an error body");
    return ApiError(status, *code,
                    *code + ": " + json_string_member(error, "message").value_or("(no message)"));
}

// What one connection of the event stream needs in curl's C callbacks.
struct StreamState {
    EventStreamParser parser;
    const std::function<bool(const ServerEvent &)> *on_event = nullptr;
    std::optional<long long> last_id;
    bool finished = false;
    bool stopped = false;
    std::string error_body; // a refusal's body (a non-200 answer)
    long status = 0;
    CURL *curl = nullptr;
    std::optional<std::chrono::steady_clock::time_point> deadline;
};

bool is_final_status(const ServerEvent &event) {
    if (event.kind != "status")
        return false;
    const JsonPtr data(json_loads(event.data.c_str(), 0, nullptr));
    const std::string status = json_string_member(data.get(), "status").value_or("");
    return status == "completed" || status == "failed" || status == "cancelled" ||
           status == "timeout";
}

extern "C" size_t on_stream_bytes(char *data, size_t size, size_t count, void *target) noexcept {
    auto *state = static_cast<StreamState *>(target);
    try {
        if (state->status == 0)
            curl_easy_getinfo(state->curl, CURLINFO_RESPONSE_CODE, &state->status);
        if (state->status != 200) {
            state->error_body.append(data, size * count);
            return size * count;
        }
        for (const ServerEvent &event : state->parser.feed(std::string_view(data, size * count))) {
            if (event.id && state->last_id && *event.id <= *state->last_id)
                continue; // replayed: already handed on before the drop
            if (event.id)
                state->last_id = event.id;
            if (!(*state->on_event)(event)) {
                state->stopped = true;
                return 0;
            }
            if (is_final_status(event)) {
                state->finished = true;
                return 0; // nothing follows the final status; stop reading now
            }
        }
        return size * count;
    } catch (...) {
        state->stopped = true; // a callback that throws ends the stream; it reported already
        return 0;
    }
}

bool past(const std::optional<std::chrono::steady_clock::time_point> &deadline) {
    return deadline && std::chrono::steady_clock::now() >= *deadline;
}

extern "C" int on_stream_progress(void *target, curl_off_t, curl_off_t, curl_off_t,
                                  curl_off_t) noexcept {
    const auto *state = static_cast<const StreamState *>(target);
    return interrupted() || past(state->deadline) ? 1 : 0; // non-zero aborts the transfer
}

// One connection of the event stream, read until it ends or a callback stops it.
CURLcode read_stream(CURL *handle, const std::string &url, const CurlHeaders &headers,
                     StreamState &state, char *error) {
    curl_easy_reset(handle); // keeps the connection cache, drops the last request's options
    curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, on_stream_bytes);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &state);
    curl_easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, on_stream_progress);
    curl_easy_setopt(handle, CURLOPT_XFERINFODATA, &state);
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    // The server sends a keep-alive comment every 15 s: 45 s of silence is a dead link.
    curl_easy_setopt(handle, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(handle, CURLOPT_LOW_SPEED_TIME, 45L);
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
    return curl_easy_perform(handle);
}

// Waits `length` before reconnecting, cut short by Ctrl-C or the deadline.
void pause(std::chrono::milliseconds length,
           const std::optional<std::chrono::steady_clock::time_point> &deadline) {
    constexpr std::chrono::milliseconds slice{50};
    for (auto slept = std::chrono::milliseconds(0);
         slept < length && !interrupted() && !past(deadline); slept += slice)
        std::this_thread::sleep_for(slice);
}

} // namespace

std::string task_path(const std::string &id) {
    return "/api/v1/tasks/" + escaped(id);
}

Server::Server(ClientSettings settings) : settings_(std::move(settings)) {
    if (settings_.url.rfind("http://", 0) != 0 && settings_.url.rfind("https://", 0) != 0)
        throw UsageError("the server URL must start with http:// or https:// (got \"" +
                         settings_.url.substr(0, 100) + "\" from " + settings_.url_source + ")");
    while (!settings_.url.empty() && settings_.url.back() == '/')
        settings_.url.pop_back();
}

std::vector<std::string> Server::headers() const {
    std::vector<std::string> list = {"Accept: application/json"};
    if (!settings_.key.empty())
        list.push_back("Authorization: Bearer " + settings_.key);
    if (!host_header_.empty())
        list.push_back(host_header_);
    return list;
}

ApiReply Server::call(const std::string &method, const std::string &path, const std::string &body) {
    std::vector<std::string> list = headers();
    if (!body.empty())
        list.push_back("Content-Type: application/json");
    HttpReply reply;
    try {
        reply = http_.send(method, settings_.url + path, body, list, request_timeout);
    } catch (const Error &e) {
        throw ApiError(0, "UNREACHABLE", e.what()); // names the URL and curl's reason
    }
    if (reply.status < 200 || reply.status >= 300)
        throw error_from_reply(method + " " + path, reply.status, reply.body);
    ApiReply answer{reply.status, JsonPtr(json_loads(reply.body.c_str(), 0, nullptr))};
    if (!answer.body)
        throw ApiError(reply.status, "BAD_REPLY",
                       method + " " + path + ": the server's answer is not JSON");
    return answer;
}

ApiReply Server::submit_task(const json_t *request) {
    return call("POST", "/api/v1/tasks", dump_json(request));
}

JsonPtr Server::get_task(const std::string &id) {
    return call("GET", task_path(id), "").body;
}

JsonPtr Server::cancel_task(const std::string &id) {
    return call("DELETE", task_path(id), "").body;
}

JsonPtr Server::list_tasks(const std::vector<std::pair<std::string, std::string>> &query) {
    std::string path = "/api/v1/tasks";
    for (const auto &[name, value] : query)
        path += (path.find('?') == std::string::npos ? "?" : "&") + name + "=" + escaped(value);
    return call("GET", path, "").body;
}

ApiReply Server::submit_batch(const json_t *body) {
    return call("POST", "/api/v1/tasks/batch", dump_json(body));
}

JsonPtr Server::get_batch(const std::string &id) {
    return call("GET", "/api/v1/batches/" + escaped(id), "").body;
}

StreamEnd Server::follow_events(const std::string &id,
                                const std::function<bool(const ServerEvent &)> &on_event,
                                std::optional<std::chrono::steady_clock::time_point> deadline) {
    const CurlPtr curl(curl_easy_init());
    if (!curl)
        throw Error(ErrorCode::InternalError, "curl_easy_init failed");
    const std::string url = settings_.url + task_path(id) + "/events";
    std::optional<long long> last_id;
    auto quiet_since = std::chrono::steady_clock::now();
    auto backoff = std::chrono::milliseconds(250);
    for (;;) {
        StreamState state;
        state.on_event = &on_event;
        state.last_id = last_id;
        state.curl = curl.get();
        state.deadline = deadline;
        CurlHeaders list;
        for (const std::string &header : headers())
            list.append(header == "Accept: application/json" ? "Accept: text/event-stream"
                                                             : header);
        if (last_id)
            list.append("Last-Event-ID: " + std::to_string(*last_id));
        char error[CURL_ERROR_SIZE] = "";
        const CURLcode code = read_stream(curl.get(), url, list, state, error);
        last_id = state.last_id;
        if (state.finished)
            return StreamEnd::Finished;
        if (state.stopped)
            return StreamEnd::Stopped;
        if (interrupted())
            return StreamEnd::Interrupted;
        if (past(deadline))
            return StreamEnd::TimedOut;
        if (state.status != 0 && state.status != 200)
            throw error_from_reply("GET " + task_path(id) + "/events", state.status,
                                   state.error_body);
        // The stream ended early (the server's max_stream_seconds, a restart, a dropped
        // link): resume after the last event seen, unless nothing has come for too long.
        // Giving up counts from the server's last answer, not its last event: a task may run
        // quietly for longer than one stream lasts.
        const auto now = std::chrono::steady_clock::now();
        if (state.status == 200) {
            quiet_since = now;
            backoff = std::chrono::milliseconds(250);
        }
        if (now - quiet_since > give_up_after)
            throw ApiError(0, "UNREACHABLE",
                           "GET " + url + ": " + (error[0] ? error : curl_easy_strerror(code)) +
                               " (gave up after " + std::to_string(give_up_after.count()) + " s)");
        pause(backoff, deadline);
        backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
    }
}

} // namespace tr::cli
