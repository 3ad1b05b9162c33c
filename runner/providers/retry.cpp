// Retry policy arithmetic.
#include "runner/providers/retry.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <string>

namespace tr::runner {

bool is_transient_status(long status) noexcept {
    return status == 429 || status == 500 || status == 502 || status == 503 || status == 504 ||
           status == 529;
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value, TimePoint now) {
    // Trim the same characters at both ends: with " \t" at the front only, "\r\n" trimmed to
    // an empty "number" and std::stol threw.
    const auto first = value.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos)
        return std::nullopt;
    value = value.substr(first, value.find_last_not_of(" \t\r\n") - first + 1);
    // Nine digits of seconds (some 31 years) at most, in either form: any longer is unreadable,
    // not an overflow.
    constexpr std::time_t longest = 999999999;
    if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        if (value.size() > 9)
            return std::nullopt;
        return std::chrono::seconds(std::stol(std::string(value)));
    }
    std::tm parts{};
    const std::string text(value);
    const char *end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &parts);
    if (!end || *end != '\0')
        return std::nullopt;
    // Compared in seconds first: a date like 2710 or 0001 is beyond what a time_point holds in
    // nanoseconds, and converting it overflowed (found by tests/fuzz/retry_after).
    const std::time_t when = timegm(&parts);
    const std::time_t current = Clock::to_time_t(now);
    if (when <= current)
        return std::chrono::milliseconds(0);
    if (when - current > longest)
        return std::nullopt;
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::from_time_t(when) - now);
}

std::chrono::milliseconds backoff_delay(double base_seconds, int attempt, double jitter_unit) {
    const double factor = 0.75 + 0.5 * std::clamp(jitter_unit, 0.0, 0.999999);
    const double seconds = base_seconds * std::pow(2.0, std::min(attempt, 30)) * factor;
    return std::chrono::milliseconds(static_cast<long long>(std::min(seconds, 3600.0) * 1000));
}

} // namespace tr::runner
