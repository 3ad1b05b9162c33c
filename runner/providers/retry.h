// When to try a model call again: which failures are transient, how long to wait (exponential
// backoff with jitter, or what the provider's Retry-After says), all within the task's time.
#pragma once

#include "core/time.h"

#include <chrono>
#include <optional>
#include <string_view>

namespace tr::runner {

// 429, 500, 502, 503, 504 and Anthropic's 529 (overloaded) are worth another attempt; other
// statuses say the request itself is wrong and would fail again.
bool is_transient_status(long status) noexcept;

// Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date ("Wed, 21 Oct 2015 07:28:00
// GMT"). nullopt when absent or unreadable; a date in the past is zero.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value, TimePoint now);

// base * 2^attempt (attempt 0 is the first retry), times a jitter factor in [0.75, 1.25) so
// workers that failed together do not retry together.
std::chrono::milliseconds backoff_delay(double base_seconds, int attempt, double jitter_unit);

} // namespace tr::runner
