// HTTP calls to the Task Runner API.
#include "cli/api_client.h"

#include "core/error.h"

#include <cstdlib>

namespace tr::cli {
namespace {

constexpr std::chrono::seconds request_timeout{30};

ErrorCode code_for_status(long status) {
    switch (status) {
    case 400: return ErrorCode::InvalidRequest;
    case 401: return ErrorCode::AuthenticationError;
    case 403: return ErrorCode::AuthorizationError;
    case 404: return ErrorCode::TaskNotFound;
    case 405: return ErrorCode::MethodNotAllowed;
    case 409: return ErrorCode::Conflict;
    case 413: return ErrorCode::PayloadTooLarge;
    case 429: return ErrorCode::RateLimitExceeded;
    case 503: return ErrorCode::ServiceUnavailable;
    default: return status >= 500 ? ErrorCode::InternalError : ErrorCode::InvalidRequest;
    }
}

} // namespace

ApiClient::ApiClient(std::string server_url, std::string api_key)
    : server_url_(std::move(server_url)), api_key_(std::move(api_key)) {
    while (!server_url_.empty() && server_url_.back() == '/')
        server_url_.pop_back();
}

JsonPtr ApiClient::submit_task(const json_t *request) {
    return call("POST", "/api/v1/tasks", dump_json(request));
}

JsonPtr ApiClient::get_task(const std::string &id) {
    char *escaped = curl_easy_escape(nullptr, id.c_str(), static_cast<int>(id.size()));
    const std::string path = "/api/v1/tasks/" + std::string(escaped ? escaped : "");
    curl_free(escaped);
    return call("GET", path, "");
}

HttpReply ApiClient::health(std::chrono::milliseconds timeout) {
    return http_.send("GET", server_url_ + "/health", "", headers({}), timeout);
}

std::vector<std::string> ApiClient::headers(std::vector<std::string> more) const {
    if (!api_key_.empty())
        more.push_back("Authorization: Bearer " + api_key_);
    if (!host_header_.empty())
        more.push_back(host_header_);
    return more;
}

JsonPtr ApiClient::call(const std::string &method, const std::string &path,
                        const std::string &body) {
    const HttpReply reply = http_.send(
        method, server_url_ + path, body,
        headers({"Content-Type: application/json", "Accept: application/json"}), request_timeout);
    JsonPtr parsed;
    try {
        parsed = parse_json(reply.body);
    } catch (const Error &) {
        throw Error(code_for_status(reply.status), method + " " + path + ": the server answered " +
                                                       std::to_string(reply.status) +
                                                       " without a JSON body");
    }
    if (reply.status >= 200 && reply.status < 300)
        return parsed;
    const json_t *error = json_object_get(parsed.get(), "error");
    const std::string code =
        json_string_member(error, "code").value_or("HTTP_" + std::to_string(reply.status));
    const std::string message = json_string_member(error, "message").value_or("(no message)");
    throw Error(code_for_status(reply.status), code + ": " + message);
}

std::string default_client_key() {
    const char *key = std::getenv("TASK_RUNNER_KEY");
    return key ? key : "";
}

std::string default_server_url() {
    if (const char *url = std::getenv("TASK_RUNNER_URL"); url && *url)
        return url;
    return "http://127.0.0.1:8080";
}

} // namespace tr::cli
