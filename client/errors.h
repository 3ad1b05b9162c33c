// From an HTTP answer to the library's one API error type.
#pragma once

#include "client/transport.h"

#include <task_runner/error.h>

#include <string>

namespace tr::client {

// The ApiError of a non-2xx answer to `request` ("GET /api/v1/tasks/42"): the API's own code and
// message when the body is its error JSON, else code INVALID_RESPONSE and a short, printable
// excerpt of what came instead.
task_runner::ApiError error_from_reply(const std::string &request, const Reply &reply);

// `text` made safe to show in a message: at most `limit` bytes, control characters as '?'.
std::string excerpt(std::string_view text, std::size_t limit = 200);

} // namespace tr::client
