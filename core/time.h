// Wall-clock times as stored and served: RFC 3339 UTC with milliseconds,
// "2026-11-29T07:49:35.123Z". Fixed width, so text order is time order in SQLite.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace tr {

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;
using SteadyClock = std::chrono::steady_clock;

std::string format_utc(TimePoint time);

// Accepts RFC 3339 with 'Z' or a numeric offset, with or without fractional seconds.
std::optional<TimePoint> parse_utc(std::string_view text);

// Milliseconds between two steady instants, for step and task timings.
long long elapsed_ms(SteadyClock::time_point since, SteadyClock::time_point until);
// ... and until now.
inline long long elapsed_ms(SteadyClock::time_point since) {
    return elapsed_ms(since, SteadyClock::now());
}

} // namespace tr
