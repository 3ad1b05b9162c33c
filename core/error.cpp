// The table from error codes to HTTP statuses and wire names (SPEC.md §3).
#include "core/error.h"

#include <cstring>
#include <iterator>

namespace tr {
namespace {

struct ErrorInfo {
    ErrorCode code;
    int http_status;
    const char *name;
};

constexpr ErrorInfo error_table[] = {
    {ErrorCode::InvalidRequest, 400, "INVALID_REQUEST"},
    {ErrorCode::AuthenticationError, 401, "AUTHENTICATION_ERROR"},
    {ErrorCode::AuthorizationError, 403, "AUTHORIZATION_ERROR"},
    {ErrorCode::TaskNotFound, 404, "TASK_NOT_FOUND"},
    {ErrorCode::NotFound, 404, "NOT_FOUND"},
    {ErrorCode::MethodNotAllowed, 405, "METHOD_NOT_ALLOWED"},
    {ErrorCode::Conflict, 409, "CONFLICT"},
    {ErrorCode::PayloadTooLarge, 413, "PAYLOAD_TOO_LARGE"},
    {ErrorCode::UnsupportedMediaType, 415, "UNSUPPORTED_MEDIA_TYPE"},
    {ErrorCode::RateLimitExceeded, 429, "RATE_LIMIT_EXCEEDED"},
    {ErrorCode::InternalError, 500, "INTERNAL_ERROR"},
    {ErrorCode::ServiceUnavailable, 503, "SERVICE_UNAVAILABLE"},
};

// The table is indexed by the enumerator; error_test checks that every row sits at its own index.
static_assert(std::size(error_table) == static_cast<std::size_t>(ErrorCode::ServiceUnavailable) + 1,
              "error_table must list every ErrorCode, in declaration order");

const ErrorInfo &info_of(ErrorCode code) noexcept {
    return error_table[static_cast<std::size_t>(code)];
}

} // namespace

Error::Error(ErrorCode code, const std::string &message, std::chrono::seconds retry_after)
    : std::runtime_error(message), code_(code), retry_after_(retry_after) {}

int Error::http_status() const noexcept {
    return http_status_of(code_);
}

const char *Error::code_name() const noexcept {
    return code_name_of(code_);
}

int http_status_of(ErrorCode code) noexcept {
    return info_of(code).http_status;
}

const char *code_name_of(ErrorCode code) noexcept {
    return info_of(code).name;
}

std::string system_error_text(const std::string &what, int errno_value) {
    return what + ": " + std::strerror(errno_value);
}

} // namespace tr
