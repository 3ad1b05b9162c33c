// The errors of the Task Runner client library. Everything a Client method throws derives from
// task_runner::Error:
//   ApiError        the server answered with an error (any non-2xx), or with something that is
//                   not the API's JSON at all (code "INVALID_RESPONSE"); carries the HTTP status,
//                   the API's error code ("TASK_NOT_FOUND") and its message;
//   TransportError  no answer arrived: the server could not be reached, the connection broke,
//                   or the request timed out;
//   Interrupted     the check given to ClientBuilder::interrupt_when() asked to stop.
// A failed task is not an error: it is a TaskResponse whose status is "failed".
#pragma once

#include <stdexcept>
#include <string>

namespace task_runner {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string &what);
    ~Error() override;
};

class ApiError : public Error {
public:
    // `code` is the API's ("TASK_NOT_FOUND"); `request_id` the server's X-Request-Id, if any.
    ApiError(int http_status, std::string code, std::string message, std::string request_id = "");
    ~ApiError() override;

    int http_status() const noexcept { return http_status_; }
    const std::string &code() const noexcept { return code_; }
    const std::string &message() const noexcept { return message_; }
    const std::string &request_id() const noexcept { return request_id_; }

private:
    int http_status_;
    std::string code_;
    std::string message_;
    std::string request_id_;
};

class TransportError : public Error {
public:
    explicit TransportError(const std::string &what);
    ~TransportError() override;
};

class Interrupted : public Error {
public:
    explicit Interrupted(const std::string &what);
    ~Interrupted() override;
};

} // namespace task_runner
