// ClientBuilder: collects the settings, then makes the Client with the transport they name.
#include "client/client_impl.h"
#include "client/http_transport.h"
#include "client/in_process_config.h"
#include "client/in_process_transport.h"
#include "client/settings.h"

#include <task_runner/client.h>

namespace task_runner {

ClientBuilder::ClientBuilder() : settings_(std::make_unique<Settings>()) {}
ClientBuilder::ClientBuilder(const ClientBuilder &other)
    : settings_(std::make_unique<Settings>(*other.settings_)) {}
ClientBuilder &ClientBuilder::operator=(const ClientBuilder &other) {
    if (this != &other)
        settings_ = std::make_unique<Settings>(*other.settings_);
    return *this;
}
ClientBuilder::ClientBuilder(ClientBuilder &&) noexcept = default;
ClientBuilder &ClientBuilder::operator=(ClientBuilder &&) noexcept = default;
ClientBuilder::~ClientBuilder() = default;

ClientBuilder &ClientBuilder::http(std::string base_url) {
    settings_->transport = Settings::Transport::Http;
    settings_->base_url = std::move(base_url);
    return *this;
}

ClientBuilder &ClientBuilder::api_key(std::string key) {
    settings_->api_key = std::move(key);
    return *this;
}

ClientBuilder &ClientBuilder::timeout(std::chrono::milliseconds limit) {
    settings_->timeout = limit;
    return *this;
}

ClientBuilder &ClientBuilder::connect_timeout(std::chrono::milliseconds limit) {
    settings_->connect_timeout = limit;
    return *this;
}

ClientBuilder &ClientBuilder::host_header(std::string host) {
    settings_->host_header = std::move(host);
    return *this;
}

ClientBuilder &ClientBuilder::in_process(std::string database_path) {
    settings_->transport = Settings::Transport::InProcessDatabase;
    settings_->path = std::move(database_path);
    return *this;
}

ClientBuilder &ClientBuilder::in_process_config(std::string config_path) {
    settings_->transport = Settings::Transport::InProcessConfig;
    settings_->path = std::move(config_path);
    return *this;
}

ClientBuilder &ClientBuilder::working_directory(std::string directory) {
    settings_->working_directory = std::move(directory);
    return *this;
}

ClientBuilder &ClientBuilder::interrupt_when(std::function<bool()> check) {
    settings_->interrupted = std::move(check);
    return *this;
}

Client ClientBuilder::build() const {
    const Settings &s = *settings_;
    switch (s.transport) {
    case Settings::Transport::Http:
        return Client(
            std::make_unique<Client::Impl>(std::make_unique<tr::client::HttpTransport>(s)));
    case Settings::Transport::InProcessDatabase:
        return Client(
            std::make_unique<Client::Impl>(std::make_unique<tr::client::InProcessTransport>(
                tr::client::in_process_config_for_database(s.path, s.working_directory), s.api_key,
                s.interrupted)));
    case Settings::Transport::InProcessConfig:
        return Client(
            std::make_unique<Client::Impl>(std::make_unique<tr::client::InProcessTransport>(
                tr::client::in_process_config_from_file(s.path, s.working_directory), s.api_key,
                s.interrupted)));
    case Settings::Transport::None: break;
    }
    throw Error("ClientBuilder: choose a transport first: http(URL), in_process(DATABASE) or "
                "in_process_config(FILE)");
}

} // namespace task_runner
