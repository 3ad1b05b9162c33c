// libcurl with owners: CurlPtr (an easy handle), CurlHeaders (a header list), CurlGlobal (the
// library's process-wide init, held by main before any thread starts), and a small blocking
// HttpClient that reuses its connection between requests (keep-alive).
#pragma once

#include <curl/curl.h>

#include "core/error.h"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tr {

struct CurlEasyCleanup {
    void operator()(CURL *handle) const noexcept { curl_easy_cleanup(handle); }
};
using CurlPtr = std::unique_ptr<CURL, CurlEasyCleanup>;

class CurlHeaders {
public:
    CurlHeaders() = default;
    CurlHeaders(const CurlHeaders &) = delete;
    CurlHeaders &operator=(const CurlHeaders &) = delete;
    ~CurlHeaders() { curl_slist_free_all(list_); }

    void append(const std::string &header); // "Name: value"; throws Error on allocation failure
    curl_slist *get() const noexcept { return list_; }

private:
    curl_slist *list_ = nullptr;
};

class CurlGlobal {
public:
    CurlGlobal(); // throws Error when libcurl cannot initialise
    CurlGlobal(const CurlGlobal &) = delete;
    CurlGlobal &operator=(const CurlGlobal &) = delete;
    ~CurlGlobal() { curl_global_cleanup(); }
};

struct HttpReply {
    long status = 0;
    std::string body;
    std::vector<std::string> headers; // "name: value", as received
    bool stopped = false;             // HttpOptions::on_body asked to end the transfer early
};

// Thrown by HttpClient::send when HttpOptions::interrupted said to stop.
class HttpInterrupted : public Error {
public:
    explicit HttpInterrupted(const std::string &what)
        : Error(ErrorCode::ServiceUnavailable, what) {}
};

struct HttpOptions {
    std::chrono::milliseconds timeout{30000}; // the whole exchange; zero: no limit
    std::chrono::milliseconds connect_timeout{5000};
    // The transfer fails after this long without receiving a byte (a stream whose server went
    // silent); zero: no limit.
    std::chrono::seconds stall_limit{0};
    // Set: the body of a 2xx reply is handed over piece by piece as it arrives, instead of
    // collected in HttpReply::body; returning false ends the transfer (HttpReply::stopped).
    // Other replies are collected as usual. It may throw: send rethrows after curl returns.
    std::function<bool(std::string_view piece)> on_body;
    // Polled several times a second while the exchange lasts; true abandons it
    // (HttpInterrupted).
    std::function<bool()> interrupted;
    // A reply whose body would pass this many bytes is abandoned: Error(PayloadTooLarge).
    // Zero: no limit.
    std::size_t max_body = 0;
};

class HttpClient {
public:
    HttpClient();

    // Throws Error(ServiceUnavailable) naming the URL and curl's reason when no HTTP answer
    // arrives (connection refused, timeout...). Any HTTP status is a reply, not an error.
    HttpReply send(const std::string &method, const std::string &url, const std::string &body,
                   const std::vector<std::string> &headers, std::chrono::milliseconds timeout);
    HttpReply send(const std::string &method, const std::string &url, const std::string &body,
                   const std::vector<std::string> &headers, const HttpOptions &options);

private:
    CurlPtr handle_;
};

} // namespace tr
