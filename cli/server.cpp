// Building the library's Client for the CLI.
#include "cli/server.h"

#include "cli/interrupt.h"
#include "cli/usage_error.h"

namespace tr::cli {
namespace {

using Deadline = std::shared_ptr<std::optional<std::chrono::steady_clock::time_point>>;

task_runner::Client build_client(const ClientSettings &settings, const std::string &host_header,
                                 const Deadline &deadline) {
    if (settings.url.rfind("http://", 0) != 0 && settings.url.rfind("https://", 0) != 0)
        throw UsageError("the server URL must start with http:// or https:// (got \"" +
                         settings.url.substr(0, 100) + "\" from " + settings.url_source + ")");
    task_runner::ClientBuilder builder;
    builder.http(settings.url).interrupt_when([deadline] {
        return interrupted() || (*deadline && std::chrono::steady_clock::now() >= **deadline);
    });
    if (!settings.key.empty())
        builder.api_key(settings.key);
    if (!host_header.empty())
        builder.host_header(host_header);
    return builder.build();
}

} // namespace

Server::Server(const ClientSettings &settings, const std::string &host_header)
    : url_(settings.url),
      deadline_(std::make_shared<std::optional<std::chrono::steady_clock::time_point>>()),
      client_(build_client(settings, host_header, deadline_)) {}

void Server::set_deadline(std::optional<std::chrono::steady_clock::time_point> deadline) {
    *deadline_ = deadline;
}

bool Server::past_deadline() const {
    return *deadline_ && std::chrono::steady_clock::now() >= **deadline_;
}

bool unreachable_or_refused_key(const task_runner::Error &error) {
    if (dynamic_cast<const task_runner::TransportError *>(&error))
        return true;
    const int status = http_status_of(error);
    return status == 401 || status == 403;
}

int http_status_of(const task_runner::Error &error) {
    const auto *api = dynamic_cast<const task_runner::ApiError *>(&error);
    return api ? api->http_status() : 0;
}

} // namespace tr::cli
