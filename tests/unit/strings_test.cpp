// core/strings: join and in_quotes.
#include "core/strings.h"

#include <gtest/gtest.h>

namespace tr {
namespace {

TEST(Join, PutsTheSeparatorBetweenItemsOnly) {
    EXPECT_EQ(join({}, ", "), "");
    EXPECT_EQ(join({"a"}, ", "), "a");
    EXPECT_EQ(join({"a", "b", "c"}, ", "), "a, b, c");
}

TEST(Join, KeepsEmptyItemsInTheirPlaces) {
    EXPECT_EQ(join({"", "b"}, ","), ",b");
    EXPECT_EQ(join({"a", "", "c"}, ","), "a,,c");
    EXPECT_EQ(join({"", ""}, ","), ",");
}

TEST(InQuotes, WrapsTheTextAsItIs) {
    EXPECT_EQ(in_quotes("data/x.db"), "\"data/x.db\"");
    EXPECT_EQ(in_quotes(""), "\"\"");
}

} // namespace
} // namespace tr
