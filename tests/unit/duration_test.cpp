// cli/duration: "30d", "12h", "90m", "45s", and everything else refused with a message.
#include "cli/duration.h"

#include "cli/usage_error.h"
#include "test_support.h"

#include <gtest/gtest.h>

namespace tr::cli {
namespace {

using std::chrono::seconds;

TEST(ParseDuration, TakesAWholeNumberAndAUnit) {
    EXPECT_EQ(parse_duration("30d"), seconds(30 * 86400));
    EXPECT_EQ(parse_duration("12h"), seconds(12 * 3600));
    EXPECT_EQ(parse_duration("90m"), seconds(90 * 60));
    EXPECT_EQ(parse_duration("45s"), seconds(45));
    EXPECT_EQ(parse_duration("0d"), seconds(0));
    EXPECT_EQ(parse_duration("36600d"), seconds(36600LL * 86400));
}

TEST(ParseDuration, RefusesAnythingElseSayingWhy) {
    const std::pair<const char *, const char *> refused[] = {
        {"", "empty"},
        {"30", "no unit"},
        {"30w", "no unit"},
        {"d", "not a whole"},
        {"-5d", "not a whole"},
        {"+5d", "not a whole"},
        {"1.5d", "not a whole"},
        {" 5d", "not a whole"},
        {"5 d", "not a whole"},
        {"36601d", "more than 100 years"},
        {"99999999999999999999d", "more than 100 years"},
        {"30D", "no unit"}};
    for (const auto &[text, why] : refused) {
        try {
            parse_duration(text);
            ADD_FAILURE() << '"' << text << "\" was accepted";
        } catch (const UsageError &e) {
            EXPECT_TRUE(test::contains(e.what(), why)) << e.what();
            EXPECT_TRUE(test::contains(e.what(), "such as 30d")) << e.what();
        }
    }
}

} // namespace
} // namespace tr::cli
