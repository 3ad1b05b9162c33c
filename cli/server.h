// The Task Runner API as the CLI uses it: one kept-alive connection for requests, the event
// stream followed across drops, and every refusal as an ApiError carrying the HTTP status and
// the server's own error code. The API key goes out as Authorization: Bearer and nowhere else.
#pragma once

#include "cli/client_settings.h"
#include "cli/event_stream.h"
#include "core/curl.h"
#include "core/json.h"

#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace tr::cli {

class ApiError : public std::runtime_error {
public:
    // `http_status` 0: no HTTP answer at all (refused connection, DNS, timeout).
    ApiError(long http_status, std::string code, const std::string &message)
        : std::runtime_error(message), http_status_(http_status), code_(std::move(code)) {}
    long http_status() const noexcept { return http_status_; }
    const std::string &code() const noexcept { return code_; } // "TASK_NOT_FOUND", "UNREACHABLE"
    // The server could not be reached, or refused who we are (401, 403).
    bool unreachable_or_refused_key() const noexcept {
        return http_status_ == 0 || http_status_ == 401 || http_status_ == 403;
    }

private:
    long http_status_;
    std::string code_;
};

struct ApiReply {
    long status = 0;
    JsonPtr body;
};

enum class StreamEnd {
    Finished,    // the task's final status arrived
    Stopped,     // the callback said to stop
    Interrupted, // Ctrl-C (cli/interrupt.h)
    TimedOut,    // the caller's deadline passed first
};

class Server {
public:
    explicit Server(ClientSettings settings); // throws UsageError for a URL that is not http(s)

    ApiReply submit_task(const json_t *request); // POST /api/v1/tasks; 202 new, 200 existing
    JsonPtr get_task(const std::string &id);
    JsonPtr cancel_task(const std::string &id); // DELETE /api/v1/tasks/{id}
    JsonPtr list_tasks(const std::vector<std::pair<std::string, std::string>> &query);
    ApiReply submit_batch(const json_t *body); // 202 new, 200 the same batch again
    JsonPtr get_batch(const std::string &id);

    // Follows GET /api/v1/tasks/{id}/events from the start, calling `on_event` for each event
    // in order, each once: after a dropped connection it resumes with Last-Event-ID. Gives up
    // with ApiError when the server stays unreachable for 30 s. Returns how it ended; Ctrl-C
    // and `deadline` end it within about a second (curl's progress callback).
    StreamEnd
    follow_events(const std::string &id, const std::function<bool(const ServerEvent &)> &on_event,
                  std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt);

    const std::string &url() const noexcept { return settings_.url; }

    // Sends "Host: host" instead of the URL's, for a server reached at an address whose name is
    // not one of its service.allowed_hosts (the launcher, reaching its own stack on loopback).
    void set_host_header(std::string host) { host_header_ = "Host: " + std::move(host); }

private:
    ApiReply call(const std::string &method, const std::string &path, const std::string &body);
    std::vector<std::string> headers() const;

    ClientSettings settings_;
    std::string host_header_;
    HttpClient http_;
};

// "/api/v1/tasks/" + the id, percent-encoded.
std::string task_path(const std::string &id);

} // namespace tr::cli
