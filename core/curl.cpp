// The blocking HTTP client of the CLI and the client library.
#include "core/curl.h"

#include <exception>

namespace tr {
namespace {

// What the write and progress callbacks of one exchange work with.
struct Transfer {
    CURL *curl;
    const HttpOptions &options;
    HttpReply &reply;
    std::exception_ptr failure; // thrown by on_body: rethrown once curl has returned
    bool interrupted = false;
    bool too_large = false;
};

bool is_success(CURL *curl) {
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    return status >= 200 && status < 300;
}

// curl callbacks are C: they must not throw, so they keep what went wrong and report by return
// value; returning less than given makes curl fail the transfer with CURLE_WRITE_ERROR.
extern "C" size_t append_body(char *data, size_t size, size_t count, void *target) noexcept {
    auto &transfer = *static_cast<Transfer *>(target);
    try {
        if (transfer.options.on_body && is_success(transfer.curl)) {
            if (!transfer.options.on_body(std::string_view(data, size * count))) {
                transfer.reply.stopped = true;
                return 0;
            }
        } else {
            const std::size_t limit = transfer.options.max_body;
            if (limit && transfer.reply.body.size() + size * count > limit) {
                transfer.too_large = true;
                return 0;
            }
            transfer.reply.body.append(data, size * count);
        }
        return size * count;
    } catch (...) {
        transfer.failure = std::current_exception();
        return 0;
    }
}

extern "C" int check_interrupt(void *target, curl_off_t, curl_off_t, curl_off_t,
                               curl_off_t) noexcept {
    auto &transfer = *static_cast<Transfer *>(target);
    try {
        transfer.interrupted = transfer.options.interrupted();
    } catch (...) {
        transfer.failure = std::current_exception();
        return 1;
    }
    return transfer.interrupted ? 1 : 0; // non-zero: CURLE_ABORTED_BY_CALLBACK
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
    HttpOptions options;
    options.timeout = timeout;
    return send(method, url, body, headers, options);
}

HttpReply HttpClient::send(const std::string &method, const std::string &url,
                           const std::string &body, const std::vector<std::string> &headers,
                           const HttpOptions &options) {
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
    Transfer transfer{curl, options, reply, nullptr};
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, append_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &reply.headers);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options.connect_timeout.count()));
    if (options.stall_limit.count() > 0) {
        curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME,
                         static_cast<long>(options.stall_limit.count()));
    }
    if (options.interrupted) {
        curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, check_interrupt);
        curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &transfer);
        curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    }
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    const CURLcode code = curl_easy_perform(curl);
    if (transfer.failure)
        std::rethrow_exception(transfer.failure);
    if (transfer.interrupted)
        throw HttpInterrupted(method + " " + url + ": interrupted");
    if (transfer.too_large)
        throw Error(ErrorCode::PayloadTooLarge, method + " " + url + ": the answer is over " +
                                                    std::to_string(options.max_body) + " bytes");
    if (code != CURLE_OK && !(code == CURLE_WRITE_ERROR && reply.stopped))
        throw Error(ErrorCode::ServiceUnavailable,
                    method + " " + url + ": " + (error[0] ? error : curl_easy_strerror(code)));
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
    return reply;
}

} // namespace tr
