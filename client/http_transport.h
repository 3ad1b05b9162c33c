// The HTTP transport: one libcurl handle (core/curl.h's HttpClient), so one kept-alive
// connection to the server, the API key as a Bearer token, the builder's time limits.
#pragma once

#include "client/settings.h"
#include "client/transport.h"
#include "core/curl.h"

namespace tr::client {

class HttpTransport final : public Transport {
public:
    explicit HttpTransport(const task_runner::ClientBuilder::Settings &settings);

    Reply send(const std::string &method, const std::string &target, const std::string &body,
               std::chrono::seconds held) override;
    Reply stream(const std::string &target, std::optional<std::int64_t> last_event_id,
                 const BodySink &sink) override;
    void pause(std::chrono::milliseconds delay) override;

private:
    std::vector<std::string> headers(std::vector<std::string> more) const;
    HttpOptions options() const;
    Reply exchange(const std::string &method, const std::string &target, const std::string &body,
                   const std::vector<std::string> &headers, const HttpOptions &options);

    std::string base_url_;
    std::string api_key_;
    std::string host_header_;
    std::chrono::milliseconds timeout_;
    std::chrono::milliseconds connect_timeout_;
    std::function<bool()> interrupted_;
    HttpClient http_;
};

} // namespace tr::client
