// The HTTP API as the CLI uses it. One connection, reused; every non-2xx answer becomes an
// Error carrying the server's own code and message.
#pragma once

#include "core/curl.h"
#include "core/json.h"

#include <chrono>
#include <string>
#include <vector>

namespace tr::cli {

class ApiClient {
public:
    // `api_key` (may be empty) goes out as Authorization: Bearer on every request.
    ApiClient(std::string server_url, std::string api_key = "");

    // POST /api/v1/tasks; returns the reply (task_id, status).
    JsonPtr submit_task(const json_t *request);
    // GET /api/v1/tasks/{id}.
    JsonPtr get_task(const std::string &id);
    // GET /health: the status code and body, whatever they are, within `timeout`.
    HttpReply health(std::chrono::milliseconds timeout = std::chrono::seconds(30));

    const std::string &server_url() const noexcept { return server_url_; }

    // Sends "Host: host" instead of the URL's, for a server reached at an address whose name is
    // not one of its service.allowed_hosts (the launcher, reaching its own stack on loopback).
    void set_host_header(std::string host) { host_header_ = "Host: " + std::move(host); }

private:
    std::vector<std::string> headers(std::vector<std::string> more) const;

    JsonPtr call(const std::string &method, const std::string &path, const std::string &body);

    std::string server_url_;
    std::string api_key_;
    std::string host_header_;
    HttpClient http_;
};

// The server to talk to: --server, else $TASK_RUNNER_URL, else the local default.
std::string default_server_url();

// The API key to send: --key, else $TASK_RUNNER_KEY, else none.
std::string default_client_key();

} // namespace tr::cli
