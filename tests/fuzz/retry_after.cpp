// Fuzz target: a provider's Retry-After header (runner/providers/retry.cpp), which decides how
// long a task waits before it calls the model again, and how long every runner backs off
// after a 429 (model_client.cpp adds it to the time now).
//
// Beyond not crashing (or overflowing: the build stops at undefined behaviour): the delay is
// nullopt (unreadable) or between zero and the 999999999 seconds (some 31 years) beyond which
// a delay is unreadable, and now plus the delay is a time the clock can hold.
#include "core/time.h"
#include "fuzz_support.h"
#include "runner/providers/retry.h"

#include <chrono>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    using namespace std::chrono;
    static const tr::TimePoint now = *tr::parse_utc("2026-11-29T10:00:00Z");
    const std::optional<milliseconds> delay =
        tr::runner::parse_retry_after(tr::fuzz::as_text(data, size), now);
    if (delay) {
        tr::fuzz::require(*delay >= milliseconds(0) && *delay <= seconds(999999999),
                          "a Retry-After delay of " + std::to_string(delay->count()) + " ms");
        tr::format_utc(now + *delay);
    }
    return 0;
}
