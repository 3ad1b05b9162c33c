// runner/providers/retry: which HTTP statuses are worth another attempt, Retry-After in both
// of its forms (RFC 9110 §10.2.3) against a fixed now, and the exponential backoff with jitter.
#include "runner/providers/retry.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>

namespace tr::runner {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

TimePoint fixed_now() {
    return *parse_utc("2026-11-29T10:00:00Z");
}

TEST(Retry, TriesRateLimitsServerErrorsAndOverloadAgain) {
    for (const long status : {429L, 500L, 502L, 503L, 504L, 529L})
        EXPECT_TRUE(is_transient_status(status)) << status;
}

TEST(Retry, NeverRepeatsARequestTheProviderRefused) {
    for (const long status : {400L, 401L, 403L, 404L, 422L, 200L, 501L})
        EXPECT_FALSE(is_transient_status(status)) << status;
}

TEST(Retry, ReadsRetryAfterInSeconds) {
    EXPECT_EQ(parse_retry_after("3", fixed_now()), milliseconds(3000));
    EXPECT_EQ(parse_retry_after(" 10 ", fixed_now()), seconds(10));
    EXPECT_EQ(parse_retry_after("0", fixed_now()), milliseconds(0));
    EXPECT_EQ(parse_retry_after("\t7\r\n", fixed_now()), seconds(7));
}

TEST(Retry, ReadsRetryAfterAsAnHttpDateRelativeToNow) {
    EXPECT_EQ(parse_retry_after("Sun, 29 Nov 2026 10:00:05 GMT", fixed_now()), milliseconds(5000));
    EXPECT_EQ(parse_retry_after("Sun, 29 Nov 2026 11:00:00 GMT", fixed_now()), hours(1));
    EXPECT_EQ(parse_retry_after("Mon, 30 Nov 2026 10:00:00 GMT", fixed_now()), hours(24));
}

TEST(Retry, ReadsAnHttpDateInThePastAsNoWait) {
    EXPECT_EQ(parse_retry_after("Sun, 29 Nov 2026 09:59:59 GMT", fixed_now()), milliseconds(0));
    EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", fixed_now()), milliseconds(0));
    EXPECT_EQ(parse_retry_after("Sun, 29 Nov 2026 10:00:00 GMT", fixed_now()), milliseconds(0));
}

TEST(Retry, RefusesARetryAfterItCannotRead) {
    for (const char *value :
         {"", "   ", "soon", "-1", "1.5", "+3", "3s", "0x10", "9999999999", "99999999999999999999",
          "Sun, 29 Nov 2026 10:00:05", "2026-11-29T10:00:05Z", "Sun, 29 Nov 2026 10:00:05 GMT x"})
        EXPECT_EQ(parse_retry_after(value, fixed_now()), std::nullopt) << '"' << value << '"';
}

// Regression: a value of nothing but line-end characters was trimmed to an empty digit string,
// which reached std::stol and threw std::invalid_argument instead of giving nullopt.
TEST(Retry, RefusesARetryAfterOfOnlyLineEnds) {
    for (const char *value : {"\r\n", "\n", "\r", "\r\n ", "\n\t"}) {
        std::optional<milliseconds> delay;
        EXPECT_NO_THROW(delay = parse_retry_after(value, fixed_now()));
        EXPECT_EQ(delay, std::nullopt);
    }
}

// Regression, found by tests/fuzz/retry_after (corpus: date_year_2710): a date centuries away
// overflowed the conversion to the clock's nanoseconds (undefined behaviour; in a release build
// a wait of any length, or none). A date further than nine digits of seconds is unreadable,
// as that many seconds are; one long past is no wait.
TEST(Retry, RefusesAnHttpDateBeyondWhatItWouldWaitAndReadsAncientOnesAsNoWait) {
    EXPECT_EQ(parse_retry_after("Wed, 1 Oct 2710 05:28:0 GMT", fixed_now()), std::nullopt);
    EXPECT_EQ(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", fixed_now()), std::nullopt);
    EXPECT_EQ(parse_retry_after("Mon, 01 Jan 0001 00:00:00 GMT", fixed_now()), milliseconds(0));
    EXPECT_EQ(parse_retry_after("Mon, 29 Nov 2055 10:00:00 GMT", fixed_now()),
              seconds(915148800)); // 29 years: still nine digits of seconds
    EXPECT_EQ(parse_retry_after("Fri, 29 Nov 2058 10:00:00 GMT", fixed_now()), std::nullopt);
}

TEST(Retry, DoublesTheBackoffWithEachAttempt) {
    // jitter_unit 0.5 is a factor of exactly 1.
    EXPECT_EQ(backoff_delay(1, 0, 0.5), milliseconds(1000));
    EXPECT_EQ(backoff_delay(1, 1, 0.5), milliseconds(2000));
    EXPECT_EQ(backoff_delay(1, 2, 0.5), milliseconds(4000));
    EXPECT_EQ(backoff_delay(1, 5, 0.5), milliseconds(32000));
    EXPECT_EQ(backoff_delay(0.25, 3, 0.5), milliseconds(2000));
}

TEST(Retry, JittersTheBackoffWithinAQuarterEitherWay) {
    for (int attempt = 0; attempt < 6; ++attempt) {
        const long long plain = 2000LL << attempt; // base 2 s
        for (const double unit : {0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999999, 1.0}) {
            const long long delay = backoff_delay(2, attempt, unit).count();
            EXPECT_GE(delay, plain * 3 / 4) << "attempt " << attempt << " unit " << unit;
            EXPECT_LT(delay, plain * 5 / 4) << "attempt " << attempt << " unit " << unit;
        }
    }
    EXPECT_EQ(backoff_delay(2, 0, 0.0), milliseconds(1500));
    EXPECT_EQ(backoff_delay(2, 0, 1.0).count(), 2499); // 1.25 itself is never reached
}

TEST(Retry, CapsTheBackoffAtOneHour) {
    EXPECT_EQ(backoff_delay(1, 12, 0.5), milliseconds(3600 * 1000)); // 4096 s
    EXPECT_EQ(backoff_delay(1, 30, 0.999), milliseconds(3600 * 1000));
    EXPECT_EQ(backoff_delay(1, 1000, 0.5), milliseconds(3600 * 1000));
    EXPECT_EQ(backoff_delay(5000, 0, 0.0), milliseconds(3600 * 1000));
}

} // namespace
} // namespace tr::runner
