// cli/event_stream: the text/event-stream parser, fed as the network delivers (any split).
#include "cli/event_stream.h"

#include <gtest/gtest.h>

#include <string>

namespace tr::cli {
namespace {

const std::string stream = "retry: 2000\n\n"
                           "id: 0\nevent: status\ndata: {\"status\":\"queued\"}\n\n"
                           ": keep-alive\n\n"
                           "id: 7\r\nevent: step\r\ndata: {\"a\":1}\r\ndata: {\"b\":2}\r\n\r\n"
                           "id: 8\revent: plan\rdata:{}\r\r";

TEST(EventStream, ParsesEventsWithAnyLineEndingAndSkipsCommentsAndRetry) {
    EventStreamParser parser;
    const std::vector<ServerEvent> events = parser.feed(stream);
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[0].id, 0);
    EXPECT_EQ(events[0].kind, "status");
    EXPECT_EQ(events[0].data, "{\"status\":\"queued\"}");
    EXPECT_EQ(events[1].id, 7);
    EXPECT_EQ(events[1].kind, "step");
    EXPECT_EQ(events[1].data, "{\"a\":1}\n{\"b\":2}");
    EXPECT_EQ(events[2].kind, "plan");
    EXPECT_EQ(events[2].data, "{}");
}

TEST(EventStream, GivesTheSameEventsWhateverThePiecesAreCutAt) {
    EventStreamParser whole;
    const std::vector<ServerEvent> expected = whole.feed(stream);
    for (std::size_t cut = 1; cut < stream.size(); ++cut) {
        EventStreamParser parser;
        std::vector<ServerEvent> events = parser.feed(stream.substr(0, cut));
        for (ServerEvent &event : parser.feed(stream.substr(cut)))
            events.push_back(std::move(event));
        ASSERT_EQ(events.size(), expected.size()) << "cut at " << cut;
        for (std::size_t i = 0; i < events.size(); ++i) {
            EXPECT_EQ(events[i].id, expected[i].id) << "cut at " << cut;
            EXPECT_EQ(events[i].data, expected[i].data) << "cut at " << cut;
        }
    }
}

TEST(EventStream, AnIncompleteEventWaitsAndABadIdIsIgnored) {
    EventStreamParser parser;
    EXPECT_TRUE(parser.feed("id: 3\ndata: x\n").empty());
    const std::vector<ServerEvent> events = parser.feed("\nid: 99999999999999999999\ndata: y\n\n");
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].kind, "message");
    EXPECT_EQ(events[0].id, 3);
    EXPECT_EQ(events[1].id, std::nullopt); // out of range: not a resume point
}

} // namespace
} // namespace tr::cli
