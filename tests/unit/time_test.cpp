// core/time: RFC 3339 UTC text, fixed width with milliseconds so text order is time order, and
// parsing that accepts what RFC 3339 allows and nothing else.
#include "core/time.h"

#include <gtest/gtest.h>

#include <ctime>
#include <string>
#include <vector>

namespace tr {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// 2026-11-29T07:49:35Z, computed independently of the code under test.
TimePoint reference_time() {
    std::tm parts{};
    parts.tm_year = 2026 - 1900;
    parts.tm_mon = 10;
    parts.tm_mday = 29;
    parts.tm_hour = 7;
    parts.tm_min = 49;
    parts.tm_sec = 35;
    return TimePoint(seconds(timegm(&parts)));
}

TEST(FormatUtc, WritesTheEpochWithMillisecondsAndZ) {
    EXPECT_EQ(format_utc(TimePoint{}), "1970-01-01T00:00:00.000Z");
}

TEST(FormatUtc, WritesMilliseconds) {
    EXPECT_EQ(format_utc(reference_time() + milliseconds(123)), "2026-11-29T07:49:35.123Z");
    EXPECT_EQ(format_utc(reference_time() + milliseconds(7)), "2026-11-29T07:49:35.007Z");
}

TEST(FormatUtc, DropsSubMillisecondPrecision) {
    EXPECT_EQ(format_utc(reference_time() + std::chrono::microseconds(999)),
              "2026-11-29T07:49:35.000Z");
}

TEST(FormatUtc, IsFixedWidthSoTextOrderIsTimeOrder) {
    const std::vector<TimePoint> times = {
        TimePoint{},
        TimePoint(seconds(946684800)), // 2000-01-01
        reference_time(),
        reference_time() + milliseconds(1),
        reference_time() + seconds(1),
        TimePoint(seconds(4102444800LL)), // 2100-01-01
    };
    std::string previous;
    for (const TimePoint time : times) {
        const std::string text = format_utc(time);
        EXPECT_EQ(text.size(), 24u) << text;
        EXPECT_EQ(text[10], 'T') << text;
        EXPECT_EQ(text[19], '.') << text;
        EXPECT_EQ(text.back(), 'Z') << text;
        EXPECT_LT(previous, text);
        previous = text;
    }
}

TEST(FormatUtc, WritesATimeBeforeTheEpochAsAValidInstant) {
    EXPECT_EQ(format_utc(TimePoint{} - milliseconds(1)), "1969-12-31T23:59:59.999Z");
}

TEST(ParseUtc, RoundTripsFormattedTimes) {
    for (const TimePoint time : {TimePoint{}, reference_time() + milliseconds(123),
                                 reference_time() + milliseconds(999)}) {
        const std::optional<TimePoint> parsed = parse_utc(format_utc(time));
        ASSERT_TRUE(parsed) << format_utc(time);
        EXPECT_EQ(*parsed, time);
    }
}

TEST(ParseUtc, RefusesTimesATimePointCannotHold) {
    // Nanoseconds in 64 bits reach 2262-04-11T23:47:16Z, and back to 1677-09-21T00:12:44Z.
    for (const char *text : {"2999-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2262-04-12T00:00:00Z",
                             "0000-01-01T00:00:00Z", "1677-09-20T00:00:00Z"})
        EXPECT_FALSE(parse_utc(text)) << text;
    const std::optional<TimePoint> late = parse_utc("2262-04-11T00:00:00Z");
    ASSERT_TRUE(late);
    EXPECT_EQ(format_utc(*late), "2262-04-11T00:00:00.000Z");
    const std::optional<TimePoint> early = parse_utc("1677-09-22T00:00:00Z");
    ASSERT_TRUE(early);
    EXPECT_EQ(format_utc(*early), "1677-09-22T00:00:00.000Z");
}

TEST(ParseUtc, AcceptsWholeSeconds) {
    EXPECT_EQ(parse_utc("2026-11-29T07:49:35Z"), reference_time());
}

TEST(ParseUtc, AcceptsAnyNumberOfFractionDigits) {
    EXPECT_EQ(parse_utc("2026-11-29T07:49:35.5Z"), reference_time() + milliseconds(500));
    EXPECT_EQ(parse_utc("2026-11-29T07:49:35.123456Z"),
              reference_time() + std::chrono::microseconds(123456));
}

TEST(ParseUtc, AppliesAPositiveOffset) {
    EXPECT_EQ(parse_utc("2026-11-29T15:49:35.123+08:00"), reference_time() + milliseconds(123));
}

TEST(ParseUtc, AppliesANegativeOffset) {
    EXPECT_EQ(parse_utc("2026-11-29T02:19:35-05:30"), reference_time());
}

TEST(ParseUtc, AppliesAnOffsetAcrossMidnight) {
    EXPECT_EQ(parse_utc("2026-11-30T00:49:35+17:00"), reference_time());
}

TEST(ParseUtc, AcceptsTheLowerCaseAndSpaceFormsRfc3339Allows) {
    EXPECT_EQ(parse_utc("2026-11-29t07:49:35z"), reference_time());
    EXPECT_EQ(parse_utc("2026-11-29 07:49:35Z"), reference_time());
    EXPECT_EQ(parse_utc("2026-11-29T07:49:35+00:00"), reference_time());
    EXPECT_EQ(parse_utc("2026-11-29T07:49:35-00:00"), reference_time());
}

TEST(ParseUtc, AcceptsTheLastDayOfFebruaryInALeapYear) {
    EXPECT_TRUE(parse_utc("2024-02-29T00:00:00Z"));
    EXPECT_TRUE(parse_utc("2000-02-29T00:00:00Z"));
}

TEST(ParseUtc, RejectsGarbage) {
    for (const char *text :
         {"", "garbage", "now", "2026", "2026-11-29", "07:49:35Z", "2026-11-29T07:49Z",
          "T07:49:35Z", "2026/11/29T07:49:35Z", "２０２６-11-29T07:49:35Z"})
        EXPECT_FALSE(parse_utc(text)) << text;
}

TEST(ParseUtc, RejectsATimeWithoutZone) {
    EXPECT_FALSE(parse_utc("2026-11-29T07:49:35"));
    EXPECT_FALSE(parse_utc("2026-11-29T07:49:35.123"));
}

TEST(ParseUtc, RejectsFieldsOfTheWrongWidth) {
    for (const char *text : {"2026-1-29T07:49:35Z", "2026-11-9T07:49:35Z", "2026-11-29T7:49:35Z",
                             "26-11-29T07:49:35Z", "2026-11-29T07:49:3Z"})
        EXPECT_FALSE(parse_utc(text)) << text;
}

TEST(ParseUtc, RejectsOutOfRangeFields) {
    for (const char *text : {"2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-11-32T00:00:00Z",
                             "2026-11-00T00:00:00Z", "2026-11-29T24:00:00Z", "2026-11-29T07:60:00Z",
                             "2026-11-29T07:49:61Z"})
        EXPECT_FALSE(parse_utc(text)) << text;
}

// Regression: parse_utc checked only day <= 31, and timegm() then moved "2026-02-31" to
// March 3, so an impossible date was accepted as a different, valid one.
TEST(ParseUtc, RejectsDaysTheMonthDoesNotHave) {
    for (const char *text : {"2026-02-29T00:00:00Z", "2026-02-30T00:00:00Z", "2026-02-31T00:00:00Z",
                             "2100-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-06-31T00:00:00Z",
                             "2026-09-31T00:00:00Z", "2026-11-31T00:00:00Z"})
        EXPECT_FALSE(parse_utc(text)) << text;
}

TEST(ParseUtc, RejectsBadOffsets) {
    for (const char *text :
         {"2026-11-29T07:49:35+24:00", "2026-11-29T07:49:35+08:60", "2026-11-29T07:49:35+0800",
          "2026-11-29T07:49:35+8:00", "2026-11-29T07:49:35+08", "2026-11-29T07:49:35 +08:00"})
        EXPECT_FALSE(parse_utc(text)) << text;
}

TEST(ParseUtc, RejectsAnEmptyFraction) {
    EXPECT_FALSE(parse_utc("2026-11-29T07:49:35.Z"));
}

TEST(ParseUtc, RejectsTrailingAndLeadingText) {
    for (const char *text : {"2026-11-29T07:49:35Z ", "2026-11-29T07:49:35ZZ",
                             " 2026-11-29T07:49:35Z", "2026-11-29T07:49:35.123Zjunk"})
        EXPECT_FALSE(parse_utc(text)) << text;
}

TEST(ElapsedMs, CountsWholeMilliseconds) {
    const SteadyClock::time_point start{};
    EXPECT_EQ(elapsed_ms(start, start + milliseconds(1500)), 1500);
    EXPECT_EQ(elapsed_ms(start, start + std::chrono::microseconds(999)), 0);
    EXPECT_EQ(elapsed_ms(start, start), 0);
}

} // namespace
} // namespace tr
