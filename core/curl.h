// libcurl with owners: CurlPtr (an easy handle), CurlHeaders (a header list), CurlGlobal (the
// library's process-wide init, held by main before any thread starts), and a small blocking
// HttpClient that reuses its connection between requests (keep-alive).
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <memory>
#include <string>
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
};

class HttpClient {
public:
    HttpClient();

    // Throws Error(ServiceUnavailable) naming the URL and curl's reason when no HTTP answer
    // arrives (connection refused, timeout...). Any HTTP status is a reply, not an error.
    HttpReply send(const std::string &method, const std::string &url, const std::string &body,
                   const std::vector<std::string> &headers, std::chrono::milliseconds timeout);

private:
    CurlPtr handle_;
};

} // namespace tr
