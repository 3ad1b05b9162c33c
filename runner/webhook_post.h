// One webhook attempt over HTTP: a POST that follows no redirect, uses no proxy (not even one
// from the environment), speaks only http and https, checks every address it is about to
// connect to (core/callback_url.h) from inside libcurl's socket callback, so the address checked
// is the address used, and reads at most webhooks.max_response_bytes of the answer.
#pragma once

#include "core/config.h"
#include "core/webhook_deliveries.h"

#include <atomic>
#include <string>
#include <vector>

namespace tr::runner {

// Never throws for what the network does: every outcome is an attempt to record. `stop` set
// abandons the transfer: `abandoned`, and the attempt is not recorded (the lease lapses and the
// delivery is sent again, by this runner restarted or another).
struct PostOutcome {
    DeliveryAttempt attempt;
    bool abandoned = false;
};

PostOutcome post_webhook(const std::string &url, const std::string &body,
                         const std::vector<std::string> &headers, const WebhooksConfig &config,
                         const std::atomic<bool> &stop);

} // namespace tr::runner
