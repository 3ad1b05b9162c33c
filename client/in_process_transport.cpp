// Requests dispatched to the handlers in this process, as fcgi/main.cpp's CGI mode does for
// one request: CGI parameters and a body reader into fcgi::respond, which routes, checks the
// key's scope, runs the handler and turns every exception into the API's error answer.
#include "client/in_process_transport.h"

#include "fcgi/handlers/routes.h"
#include "fcgi/respond.h"

#include <task_runner/error.h>

#include <algorithm>
#include <exception>

namespace tr::client {
namespace {

LogLevel in_process_log_level(const Config &config) {
    // A library speaks up only when something is wrong: warnings and errors, to stderr.
    const LogLevel configured = parse_log_level(config.service.log_level).value_or(LogLevel::Info);
    return configured > LogLevel::Warn ? configured : LogLevel::Warn;
}

std::string header_value(const fcgi::HttpResponse &response, const char *name) {
    for (const auto &[key, value] : response.headers)
        if (key == name)
            return value;
    return "";
}

// The events handler writes CGI output ("Status: 200 OK\r\n...\r\n\r\n" and then the events):
// this drops the head and hands the rest to the sink. An exception of the sink (the caller's
// callback) is kept and rethrown after the handler has returned, so respond() cannot turn it
// into an error answer.
class StreamToSink {
public:
    explicit StreamToSink(const BodySink &sink) : sink_(sink) {}

    bool write(std::string_view bytes) {
        if (failure_)
            return false;
        try {
            if (!in_body_) {
                head_.append(bytes);
                const std::size_t end = head_.find("\r\n\r\n");
                if (end == std::string::npos)
                    return true;
                in_body_ = true;
                const std::string rest = head_.substr(end + 4);
                return rest.empty() || sink_(rest);
            }
            return sink_(bytes);
        } catch (...) {
            failure_ = std::current_exception();
            return false;
        }
    }

    void rethrow() const {
        if (failure_)
            std::rethrow_exception(failure_);
    }

private:
    const BodySink &sink_;
    std::string head_;
    bool in_body_ = false;
    std::exception_ptr failure_;
};

} // namespace

InProcessTransport::InProcessTransport(Config config, std::string api_key,
                                       std::function<bool()> interrupted)
    : config_(std::move(config)), log_("in-process", in_process_log_level(config_)),
      db_(config_.storage.database, parse_durability(config_.storage.synchronous)),
      runners_(wake_directory(config_.storage.database), log_), process_(stopping_),
      router_(fcgi::all_routes()), api_key_(std::move(api_key)),
      interrupted_(std::move(interrupted)) {
    process_.runners = &runners_;
    try {
        runner_ = std::make_unique<EmbeddedRunner>(config_, log_);
    } catch (const tr::Error &e) {
        throw task_runner::Error(std::string("in-process client: the runner cannot start: ") +
                                 e.what());
    }
}

InProcessTransport::~InProcessTransport() {
    stopping_ = true; // a wait or a stream still in progress ends now
    runner_.reset();
}

std::map<std::string, std::string> InProcessTransport::params(const std::string &method,
                                                              const std::string &target,
                                                              const std::string &body) const {
    const std::size_t question = target.find('?');
    std::map<std::string, std::string> params = {
        {"REQUEST_METHOD", method},
        {"DOCUMENT_URI", target.substr(0, question)},
        {"QUERY_STRING", question == std::string::npos ? "" : target.substr(question + 1)},
        {"CONTENT_LENGTH", std::to_string(body.size())},
    };
    if (method == "POST" || method == "PUT")
        params["CONTENT_TYPE"] = "application/json";
    if (!api_key_.empty())
        params["HTTP_AUTHORIZATION"] = "Bearer " + api_key_;
    return params;
}

Reply InProcessTransport::dispatch(std::map<std::string, std::string> params,
                                   const std::string &body, const fcgi::StreamWriter &stream) {
    if (interrupted_ && interrupted_())
        throw task_runner::Interrupted("interrupted");
    std::size_t offset = 0;
    const fcgi::BodyReader read = [&body, &offset](char *buffer, std::size_t size) {
        const std::size_t n = std::min(size, body.size() - offset);
        std::copy_n(body.data() + offset, n, buffer);
        offset += n;
        return n;
    };
    fcgi::HandlerContext context{config_, log_, db_, process_};
    fcgi::HttpResponse response = fcgi::respond(router_, context, std::move(params), read, stream);
    return {response.status, response.streamed ? "" : std::move(response.body),
            header_value(response, "X-Request-Id")};
}

Reply InProcessTransport::send(const std::string &method, const std::string &target,
                               const std::string &body, std::chrono::seconds) {
    const fcgi::StreamWriter no_stream = [](std::string_view) { return false; };
    return dispatch(params(method, target, body), body, no_stream);
}

Reply InProcessTransport::stream(const std::string &target,
                                 std::optional<std::int64_t> last_event_id, const BodySink &sink) {
    std::map<std::string, std::string> request = params("GET", target, "");
    if (last_event_id)
        request["HTTP_LAST_EVENT_ID"] = std::to_string(*last_event_id);
    StreamToSink to_sink(sink);
    const fcgi::StreamWriter stream = [&to_sink](std::string_view bytes) {
        return to_sink.write(bytes);
    };
    Reply reply = dispatch(std::move(request), "", stream);
    to_sink.rethrow();
    return reply;
}

void InProcessTransport::pause(std::chrono::milliseconds delay) {
    pause_unless_interrupted(delay, interrupted_);
}

} // namespace tr::client
