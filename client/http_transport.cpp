// Requests over HTTP, with curl's failures turned into the library's errors.
#include "client/http_transport.h"

#include "core/error.h"

#include <task_runner/error.h>

#include <strings.h>

namespace tr::client {
namespace {

// Bigger answers are not the API's: a task with every step's output is far smaller.
constexpr std::size_t max_answer_bytes = std::size_t{64} << 20;
// The server sends a comment every 15 s on a quiet stream; four missed mean it is gone.
constexpr std::chrono::seconds stream_stall_limit{60};

std::string request_id_of(const std::vector<std::string> &headers) {
    constexpr std::string_view name = "x-request-id:";
    for (const std::string &header : headers)
        if (header.size() > name.size() &&
            strncasecmp(header.c_str(), name.data(), name.size()) == 0)
            return std::string(header.substr(header.find_first_not_of(' ', name.size())));
    return "";
}

} // namespace

HttpTransport::HttpTransport(const task_runner::ClientBuilder::Settings &settings)
    : base_url_(settings.base_url), api_key_(settings.api_key), host_header_(settings.host_header),
      timeout_(settings.timeout), connect_timeout_(settings.connect_timeout),
      interrupted_(settings.interrupted) {
    while (!base_url_.empty() && base_url_.back() == '/')
        base_url_.pop_back();
    if (base_url_.rfind("http://", 0) != 0 && base_url_.rfind("https://", 0) != 0)
        throw task_runner::Error("the server URL must start with http:// or https:// (got \"" +
                                 base_url_ + "\")");
}

std::vector<std::string> HttpTransport::headers(std::vector<std::string> more) const {
    if (!api_key_.empty())
        more.push_back("Authorization: Bearer " + api_key_);
    if (!host_header_.empty())
        more.push_back("Host: " + host_header_);
    return more;
}

HttpOptions HttpTransport::options() const {
    HttpOptions options;
    options.timeout = timeout_;
    options.connect_timeout = connect_timeout_;
    options.interrupted = interrupted_;
    options.max_body = max_answer_bytes;
    return options;
}

Reply HttpTransport::exchange(const std::string &method, const std::string &target,
                              const std::string &body, const std::vector<std::string> &headers,
                              const HttpOptions &options) {
    HttpReply reply;
    try {
        reply = http_.send(method, base_url_ + target, body, headers, options);
    } catch (const HttpInterrupted &e) {
        throw task_runner::Interrupted(e.what());
    } catch (const tr::Error &e) {
        if (e.code() == ErrorCode::PayloadTooLarge)
            throw task_runner::ApiError(0, "INVALID_RESPONSE", e.what());
        throw task_runner::TransportError(e.what());
    }
    return {reply.status, std::move(reply.body), request_id_of(reply.headers)};
}

Reply HttpTransport::send(const std::string &method, const std::string &target,
                          const std::string &body, std::chrono::seconds held) {
    HttpOptions limits = options();
    limits.timeout += held;
    return exchange(method, target, body,
                    headers({"Content-Type: application/json", "Accept: application/json"}),
                    limits);
}

Reply HttpTransport::stream(const std::string &target, std::optional<std::int64_t> last_event_id,
                            const BodySink &sink) {
    HttpOptions limits = options();
    limits.timeout = std::chrono::milliseconds(0); // a stream lasts as long as the task
    limits.stall_limit = stream_stall_limit;
    limits.on_body = sink;
    std::vector<std::string> more = {"Accept: text/event-stream"};
    if (last_event_id)
        more.push_back("Last-Event-ID: " + std::to_string(*last_event_id));
    return exchange("GET", target, "", headers(std::move(more)), limits);
}

void HttpTransport::pause(std::chrono::milliseconds delay) {
    pause_unless_interrupted(delay, interrupted_);
}

} // namespace tr::client
