// A provider's rate limit, shared by every runner worker and process through SQLite: after a
// 429, nobody calls that endpoint again before its Retry-After has passed. The status endpoint
// shows it.
#pragma once

#include "core/db.h"
#include "core/time.h"

#include <optional>
#include <string>
#include <vector>

namespace tr {

struct ProviderBackoff {
    std::string endpoint;
    std::string provider;
    std::string until; // RFC 3339
    long status = 0;
    std::string reason;
};

// Extends the backoff of `endpoint` to `until` (never shortens one already longer).
void record_provider_backoff(Db &db, const ProviderBackoff &backoff, TimePoint now);

// When calls to `endpoint` may resume, if that is still in the future.
std::optional<TimePoint> provider_backoff_until(Db &db, const std::string &endpoint, TimePoint now);

// Every backoff still in force.
std::vector<ProviderBackoff> active_provider_backoffs(Db &db, TimePoint now);

} // namespace tr
