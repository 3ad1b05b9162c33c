// The one error type of Task Runner: a machine code (which fixes the HTTP status) and a message
// that names the field, the value and what is allowed.
#pragma once

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
    Error(ErrorCode code, const std::string &message);

    ErrorCode code() const noexcept { return code_; }
    int http_status() const noexcept;
    const char *code_name() const noexcept;

private:
    ErrorCode code_;
};

int http_status_of(ErrorCode code) noexcept;
const char *code_name_of(ErrorCode code) noexcept;

// "open out.txt: No such file or directory": a system call's failure with its argument and errno.
std::string system_error_text(const std::string &what, int errno_value);

} // namespace tr
