// The public error types, and reading the API's error answers into them.
#include "client/errors.h"

#include "core/json.h"

#include <task_runner/error.h>

#include <jansson.h>

namespace task_runner {

// Out of line, so the types' vtables and type information live in the library once.
Error::Error(const std::string &what) : std::runtime_error(what) {}
Error::~Error() = default;

ApiError::ApiError(int http_status, std::string code, std::string message, std::string request_id)
    : Error(code + ": " + message + " (HTTP " + std::to_string(http_status) + ")"),
      http_status_(http_status), code_(std::move(code)), message_(std::move(message)),
      request_id_(std::move(request_id)) {}
ApiError::~ApiError() = default;

TransportError::TransportError(const std::string &what) : Error(what) {}
TransportError::~TransportError() = default;

Interrupted::Interrupted(const std::string &what) : Error(what) {}
Interrupted::~Interrupted() = default;

} // namespace task_runner

namespace tr::client {

std::string excerpt(std::string_view text, std::size_t limit) {
    std::string out(text.substr(0, limit));
    for (char &c : out)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            c = '?';
    if (text.size() > limit)
        out += "...";
    return to_valid_utf8(out);
}

task_runner::ApiError error_from_reply(const std::string &request, const Reply &reply) {
    const int status = static_cast<int>(reply.status);
    json_error_t ignored; // a body that is not JSON is reported below with what it was
    const JsonPtr body(json_loadb(reply.body.data(), reply.body.size(), 0, &ignored));
    const json_t *error = json_object_get(body.get(), "error");
    const std::optional<std::string> code = json_string_member(error, "code");
    const std::optional<std::string> message = json_string_member(error, "message");
    if (code && message && !code->empty())
        return task_runner::ApiError(status, *code, *message, reply.request_id);
    const std::string what = reply.body.empty() ? "an empty body"
                                                : "a body that is not the API's error JSON: \"" +
                                                      excerpt(reply.body) + "\"";
    return task_runner::ApiError(status, "INVALID_RESPONSE",
                                 request + ": the server answered " + std::to_string(status) +
                                     " with " + what,
                                 reply.request_id);
}

} // namespace tr::client
