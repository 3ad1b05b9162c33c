// core/error: every ErrorCode has its HTTP status and wire name (SPEC.md §3), through the free
// functions and through tr::Error alike.
#include "core/error.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <string>

namespace tr {
namespace {

struct ExpectedError {
    ErrorCode code;
    int status;
    const char *name;
};

const ExpectedError expected_errors[] = {
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

TEST(Error, EveryCodeMapsToItsHttpStatus) {
    for (const ExpectedError &expected : expected_errors)
        EXPECT_EQ(http_status_of(expected.code), expected.status) << expected.name;
}

TEST(Error, EveryCodeMapsToItsWireName) {
    for (const ExpectedError &expected : expected_errors)
        EXPECT_STREQ(code_name_of(expected.code), expected.name);
}

TEST(Error, TheTableCoversEveryEnumeratorInOrder) {
    // The table in error.cpp is indexed by the enumerator: a row out of place would give one
    // code another's status. Every enumerator is listed above, so the names must all differ.
    ASSERT_EQ(std::size(expected_errors),
              static_cast<std::size_t>(ErrorCode::ServiceUnavailable) + 1);
    std::set<std::string> names;
    for (std::size_t i = 0; i < std::size(expected_errors); ++i) {
        EXPECT_EQ(static_cast<std::size_t>(expected_errors[i].code), i);
        names.insert(code_name_of(static_cast<ErrorCode>(i)));
    }
    EXPECT_EQ(names.size(), std::size(expected_errors));
}

TEST(Error, AnErrorCarriesItsCodeStatusNameAndMessage) {
    for (const ExpectedError &expected : expected_errors) {
        const Error error(expected.code, "what went wrong");
        EXPECT_EQ(error.code(), expected.code);
        EXPECT_EQ(error.http_status(), expected.status);
        EXPECT_STREQ(error.code_name(), expected.name);
        EXPECT_STREQ(error.what(), "what went wrong");
    }
}

TEST(Error, AnErrorIsCaughtAsARuntimeError) {
    try {
        throw Error(ErrorCode::TaskNotFound, "task \"42\" not found");
    } catch (const std::runtime_error &e) {
        EXPECT_STREQ(e.what(), "task \"42\" not found");
        return;
    }
    FAIL() << "tr::Error was not caught as std::runtime_error";
}

TEST(Error, SystemErrorTextNamesTheCallAndErrno) {
    EXPECT_EQ(system_error_text("open out.txt", ENOENT),
              std::string("open out.txt: ") + std::strerror(ENOENT));
    EXPECT_EQ(system_error_text("open out.txt", ENOENT), "open out.txt: No such file or directory");
}

} // namespace
} // namespace tr
