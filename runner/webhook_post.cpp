// The webhook POST with libcurl, and the socket callback that refuses internal addresses.
#include "runner/webhook_post.h"

#include "core/callback_url.h"
#include "core/curl.h"
#include "core/json.h"

#include <sys/socket.h>

#include <algorithm>

namespace tr::runner {
namespace {

constexpr std::size_t error_excerpt_bytes = 200; // of a refusing receiver's answer

struct Transfer {
    std::string host;
    const std::vector<std::string> *allowed = nullptr;
    std::optional<std::string> refusal; // set by open_socket: why an address was refused
    std::string answer;                 // the first max_answer bytes
    std::size_t max_answer = 0;
    bool cut_off = false;
    const std::atomic<bool> *stop = nullptr;
};

// libcurl asks for each socket it would connect: the address in hand is the one it will use,
// whatever the URL spelt or DNS answered (a second answer that rebinds to 127.0.0.1 included).
curl_socket_t open_socket(void *data, curlsocktype, curl_sockaddr *address) noexcept {
    auto *transfer = static_cast<Transfer *>(data);
    try {
        if (std::optional<std::string> why =
                refused_address(transfer->host, &address->addr, *transfer->allowed)) {
            transfer->refusal = *why;
            return CURL_SOCKET_BAD;
        }
        return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
    } catch (...) {
        transfer->refusal = "the address could not be checked";
        return CURL_SOCKET_BAD;
    }
}

std::size_t keep_answer(char *data, std::size_t size, std::size_t count, void *user) noexcept {
    auto *transfer = static_cast<Transfer *>(user);
    const std::size_t bytes = size * count;
    const std::size_t room =
        transfer->max_answer - std::min(transfer->max_answer, transfer->answer.size());
    transfer->answer.append(data, std::min(room, bytes));
    if (bytes > room) {
        transfer->cut_off = true;
        return 0; // ends the transfer: the status has arrived, the rest is not needed
    }
    return bytes;
}

int check_stop(void *user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) noexcept {
    return static_cast<Transfer *>(user)->stop->load() ? 1 : 0;
}

void set_options(CURL *curl, const std::string &url, const std::string &body,
                 const CurlHeaders &headers, const WebhooksConfig &config, Transfer &transfer) {
    const long timeout_ms = config.timeout_seconds * 1000L;
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L); // a redirect is an answer, not a hop
    curl_easy_setopt(curl, CURLOPT_PROXY, "");          // "" overrides http_proxy and friends
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms, 5000L));
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "task-runner/" TR_VERSION " webhooks");
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, keep_answer);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, check_stop);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &transfer);
}

std::string status_error(long status, const std::string &answer) {
    std::string excerpt = to_valid_utf8(answer.substr(0, error_excerpt_bytes));
    std::replace_if(
        excerpt.begin(), excerpt.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    return "HTTP " + std::to_string(status) + (excerpt.empty() ? "" : ": " + excerpt);
}

} // namespace

PostOutcome post_webhook(const std::string &url, const std::string &body,
                         const std::vector<std::string> &headers, const WebhooksConfig &config,
                         const std::atomic<bool> &stop) {
    PostOutcome outcome;
    DeliveryAttempt &attempt = outcome.attempt;
    attempt.at = Clock::now();
    const SteadyClock::time_point started = SteadyClock::now();
    Transfer transfer;
    transfer.allowed = &config.allowed_hosts;
    transfer.max_answer = static_cast<std::size_t>(config.max_response_bytes);
    transfer.stop = &stop;
    try {
        // The URL was checked at submission, under the configuration of then: check it again.
        transfer.host = check_callback_url(url, config.allowed_hosts).host;
    } catch (const Error &e) {
        attempt.error = e.what();
        attempt.retryable = false;
        return outcome;
    }
    CurlPtr curl(curl_easy_init());
    CurlHeaders list;
    for (const std::string &header : headers)
        list.append(header);
    list.append("Expect:"); // no 100-continue round trip before the body
    if (!curl)
        throw Error(ErrorCode::InternalError, "curl_easy_init failed");
    set_options(curl.get(), url, body, list, config, transfer);
    const CURLcode code = curl_easy_perform(curl.get());
    attempt.duration_ms = elapsed_ms(started);
    long status = 0;
    curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
    if (code == CURLE_ABORTED_BY_CALLBACK) {
        outcome.abandoned = true;
        return outcome;
    }
    if (status > 0 && (code == CURLE_OK || transfer.cut_off)) {
        attempt.http_status = status;
        if (status < 200 || status > 299)
            attempt.error = status_error(status, transfer.answer);
        return outcome;
    }
    if (transfer.refusal && code == CURLE_COULDNT_CONNECT) {
        attempt.error = *transfer.refusal;
        attempt.retryable = false; // the same address would be refused again
        return outcome;
    }
    attempt.error = std::string("no HTTP answer: ") + curl_easy_strerror(code);
    return outcome;
}

} // namespace tr::runner
