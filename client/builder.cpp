// ClientBuilder: collects the settings, then makes the Client with the transport they name.
#include "client/client_impl.h"
#include "client/http_transport.h"
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

ClientBuilder &ClientBuilder::interrupt_when(std::function<bool()> check) {
    settings_->interrupted = std::move(check);
    return *this;
}

Client ClientBuilder::build() const {
    switch (settings_->transport) {
    case Settings::Transport::Http:
        return Client(std::make_unique<Client::Impl>(
            std::make_unique<tr::client::HttpTransport>(*settings_)));
    default: throw Error("ClientBuilder: choose a transport first (http(URL))");
    }
}

} // namespace task_runner
