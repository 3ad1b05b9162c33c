// What the response readers throw when a server's answer is not the API's JSON (garbage, the
// wrong types, a missing field). The Client turns it into task_runner::ApiError with code
// INVALID_RESPONSE and the HTTP status of the answer; it never escapes the library.
#pragma once

#include <stdexcept>
#include <string>

namespace tr::client {

class BadResponse : public std::runtime_error {
public:
    explicit BadResponse(const std::string &what) : std::runtime_error(what) {}
};

} // namespace tr::client
