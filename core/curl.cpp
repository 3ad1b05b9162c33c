// The blocking HTTP client used by the CLI.
#include "core/curl.h"

#include "core/error.h"

namespace tr {
namespace {

// curl callbacks are C: they must not throw, so they only append and report by return value.
extern "C" size_t append_body(char *data, size_t size, size_t count, void *target) noexcept {
    try {
        static_cast<std::string *>(target)->append(data, size * count);
        return size * count;
    } catch (...) {
        return 0; // makes curl fail the transfer with CURLE_WRITE_ERROR
    }
}

extern "C" size_t append_header(char *data, size_t size, size_t count, void *target) noexcept {
    try {
        std::string line(data, size * count);
        while (!line.empty() && (line.back() == '\r' || line.back() == '\n'))
            line.pop_back();
        if (!line.empty())
            static_cast<std::vector<std::string> *>(target)->push_back(std::move(line));
        return size * count;
    } catch (...) {
        return 0;
    }
}

} // namespace

void CurlHeaders::append(const std::string &header) {
    curl_slist *extended = curl_slist_append(list_, header.c_str());
    if (!extended)
        throw Error(ErrorCode::InternalError, "curl_slist_append: out of memory");
    list_ = extended;
}

CurlGlobal::CurlGlobal() {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        throw Error(ErrorCode::InternalError, "curl_global_init failed");
}

HttpClient::HttpClient() : handle_(curl_easy_init()) {
    if (!handle_)
        throw Error(ErrorCode::InternalError, "curl_easy_init failed");
}

HttpReply HttpClient::send(const std::string &method, const std::string &url,
                           const std::string &body, const std::vector<std::string> &headers,
                           std::chrono::milliseconds timeout) {
    CURL *curl = handle_.get();
    curl_easy_reset(curl); // keeps the connection cache, drops the previous request's options
    HttpReply reply;
    CurlHeaders header_list;
    for (const std::string &header : headers)
        header_list.append(header);
    char error[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
    if (method == "POST" || method == "PUT") {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list.get());
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, append_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &reply.headers);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    const CURLcode code = curl_easy_perform(curl);
    if (code != CURLE_OK)
        throw Error(ErrorCode::ServiceUnavailable,
                    method + " " + url + ": " + (error[0] ? error : curl_easy_strerror(code)));
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
    return reply;
}

} // namespace tr
