// The launcher's look at its own stack: GET /health through nginx, any answer being one (the
// handlers say 200 or 503; nginx says 502 while they do not answer). The client library only
// says healthy or not, so this asks core/curl.h's HttpClient for the status itself.
#pragma once

#include "core/curl.h"

#include <chrono>
#include <string>

namespace tr::cli {

class HealthProbe {
public:
    // `host`: sent as the Host header (the stack answers only its allowed hosts).
    HealthProbe(std::string url, std::string host)
        : url_(std::move(url) + "/health"), host_header_("Host: " + std::move(host)) {}

    // The HTTP status of GET /health. Throws Error(ServiceUnavailable) when nothing answers.
    long status(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
        return http_.send("GET", url_, "", {host_header_}, timeout).status;
    }

private:
    std::string url_;
    std::string host_header_;
    HttpClient http_;
};

} // namespace tr::cli
