// The Task Runner client library's Client (include/task_runner/client.h) as the CLI sets it up:
// the URL and key of client_settings(), Ctrl-C and an optional deadline as the interrupt check
// (a request in progress then throws task_runner::Interrupted), and what an error means for the
// exit status.
#pragma once

#include "cli/client_settings.h"

#include <task_runner/client.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace tr::cli {

class Server {
public:
    // `host_header`: sent instead of the URL's host (the launcher reaching its own stack). Throws
    // UsageError for a URL that is not http(s).
    explicit Server(const ClientSettings &settings, const std::string &host_header = "");

    task_runner::Client &client() noexcept { return client_; }
    const std::string &url() const noexcept { return url_; }

    // From now on, requests still in progress at `deadline` are abandoned (Interrupted), as on
    // Ctrl-C; nullopt: no deadline.
    void set_deadline(std::optional<std::chrono::steady_clock::time_point> deadline);
    bool past_deadline() const;

private:
    std::string url_;
    std::shared_ptr<std::optional<std::chrono::steady_clock::time_point>> deadline_;
    task_runner::Client client_;
};

// The server could not be reached, or refused who we are (401, 403): exit status 3 everywhere.
bool unreachable_or_refused_key(const task_runner::Error &error);

// The HTTP status of an ApiError, 0 for any other error.
int http_status_of(const task_runner::Error &error);

} // namespace tr::cli
