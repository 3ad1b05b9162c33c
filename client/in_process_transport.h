// The in-process transport: each request goes through the API's own router and handlers
// (fcgi/), on a database connection of this transport, and an embedded runner (runner/)
// executes the tasks; no server, no socket. The answers are the API's, byte for byte, so the
// Client reads them as it reads HTTP ones.
#pragma once

#include "client/embedded_runner.h"
#include "client/transport.h"
#include "core/config.h"
#include "core/curl.h"
#include "core/db.h"
#include "core/log.h"
#include "core/wake_channel.h"
#include "fcgi/handler.h"
#include "fcgi/router.h"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace tr::client {

class InProcessTransport final : public Transport {
public:
    // `api_key`: sent as a Bearer token, for a configuration with service.require_api_key.
    // Throws task_runner::Error when the runner cannot start.
    InProcessTransport(Config config, std::string api_key, std::function<bool()> interrupted);
    InProcessTransport(const InProcessTransport &) = delete;
    InProcessTransport &operator=(const InProcessTransport &) = delete;
    ~InProcessTransport() override;

    Reply send(const std::string &method, const std::string &target, const std::string &body,
               std::chrono::seconds held) override;
    Reply stream(const std::string &target, std::optional<std::int64_t> last_event_id,
                 const BodySink &sink) override;
    void pause(std::chrono::milliseconds delay) override;

private:
    std::map<std::string, std::string> params(const std::string &method, const std::string &target,
                                              const std::string &body) const;
    Reply dispatch(std::map<std::string, std::string> params, const std::string &body,
                   const fcgi::StreamWriter &stream);

    CurlGlobal curl_; // the providers' libcurl, initialised before the runner's threads start
    Config config_;
    Log log_;
    Db db_; // the handlers' connection; open for as long as the runner runs, it also keeps the
            // database's -wal and -shm in place for the sandbox's masks (runner/main.cpp)
    std::atomic<bool> stopping_{false};
    RunnerWaker runners_; // tells the embedded runner (and any other here) of each new task
    fcgi::ProcessState process_;
    fcgi::Router router_;
    std::string api_key_;
    std::function<bool()> interrupted_;
    std::unique_ptr<EmbeddedRunner> runner_; // last: stopped first
};

} // namespace tr::client
