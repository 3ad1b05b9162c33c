// The one error type of Task Runner: a machine code (which fixes the HTTP status) and a message
// that names the field, the value and what is allowed.
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>

namespace tr {

enum class ErrorCode {
    InvalidRequest,
    AuthenticationError,
    AuthorizationError,
    TaskNotFound,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    RateLimitExceeded,
    InternalError,
    ServiceUnavailable,
};

class Error : public std::runtime_error {
public:
    // `retry_after`: how long a client should wait before trying again (the Retry-After of a
    // 503); zero leaves it to the HTTP layer's default.
    Error(ErrorCode code, const std::string &message,
          std::chrono::seconds retry_after = std::chrono::seconds(0));

    ErrorCode code() const noexcept { return code_; }
    int http_status() const noexcept;
    const char *code_name() const noexcept;
    std::chrono::seconds retry_after() const noexcept { return retry_after_; }

private:
    ErrorCode code_;
    std::chrono::seconds retry_after_;
};

int http_status_of(ErrorCode code) noexcept;
const char *code_name_of(ErrorCode code) noexcept;

// "open out.txt: No such file or directory": a system call's failure with its argument and errno.
std::string system_error_text(const std::string &what, int errno_value);

} // namespace tr
