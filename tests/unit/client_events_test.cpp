// Client::events against a real loopback server: every event once and in order across dropped
// connections (resumed with Last-Event-ID), a callback that stops, and hostile streams.
#include "loopback_http_server.h"

#include "client/event_stream.h"

#include <task_runner/client.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using tr::test::LoopbackHttpServer;
using tr::test::RecordedRequest;
using namespace std::chrono_literals;

const std::string stream_head =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\nretry: 50\n\n";

std::string event(int id, const std::string &kind, const std::string &data) {
    return "id: " + std::to_string(id) + "\nevent: " + kind + "\ndata: " + data + "\n\n";
}

const std::string running = R"({"status":"running","error":null})";
const std::string step =
    R"({"step_number":1,"step_type":"tool_use","description":"list","tool":"list_files",)"
    R"("status":"running","attempt":1,"timestamp":"2026-01-01T00:00:00Z"})";
const std::string completed = R"({"status":"completed","error":null})";

// A callback that follows to the end.
const task_runner::EventCallback keep_going = [](const task_runner::TaskEvent &) { return true; };

task_runner::Client client_for(const LoopbackHttpServer &server) {
    return task_runner::ClientBuilder().http(server.url()).build();
}

TEST(ClientEvents, ResumesAfterADroppedConnectionWithoutLosingOrRepeatingEvents) {
    const LoopbackHttpServer server(
        [](const RecordedRequest &request, int index, const LoopbackHttpServer::Send &send) {
            if (index == 0) { // two events, then the connection drops in the middle of the third
                send(stream_head + event(0, "status", R"({"status":"queued"})") +
                     event(4, "status", running) + "id: 5\nevent: step\ndata: {\"step_");
                return false;
            }
            if (request.header("last-event-id") == "4") // replays from there, and the rest
                send(stream_head + event(5, "step", step) + event(9, "status", completed));
            return false;
        });
    task_runner::Client client = client_for(server);
    std::vector<std::string> seen;
    const task_runner::EventStreamEnd end =
        client.events("t1", [&seen](const task_runner::TaskEvent &e) {
            seen.push_back(std::to_string(e.id) + " " + e.kind);
            return true;
        });
    EXPECT_EQ(seen, (std::vector<std::string>{"0 status", "4 status", "5 step", "9 status"}));
    EXPECT_TRUE(end.task_ended);
    EXPECT_EQ(end.last_event_id.value_or(-1), 9);
    EXPECT_EQ(server.requests()[1].header("last-event-id"), "4");
    EXPECT_EQ(server.requests()[0].target, "/api/v1/tasks/t1/events");
}

TEST(ClientEvents, GivesTypedStepsPlansAndStatuses) {
    const LoopbackHttpServer server(
        [](const RecordedRequest &, int, const LoopbackHttpServer::Send &send) {
            send(stream_head + ": keep-alive\n\n" +
                 event(1, "plan",
                       R"({"understanding":"u","approach":"a","complexity":"simple",)"
                       R"("estimated_steps":1,"requirements":["list_files"],"extra":1})") +
                 event(2, "step", step) +
                 event(3, "status",
                       R"({"status":"failed","error":{"code":"TOOL_FAILED","message":"m"}})"));
            return false;
        });
    task_runner::Client client = client_for(server);
    std::vector<task_runner::TaskEvent> seen;
    client.events("t1", [&seen](const task_runner::TaskEvent &e) {
        seen.push_back(e);
        return true;
    });
    ASSERT_EQ(seen.size(), 3u);
    ASSERT_TRUE(seen[0].plan);
    EXPECT_EQ(seen[0].plan->approach, "a");
    ASSERT_TRUE(seen[1].step);
    EXPECT_EQ(seen[1].step->tool.value_or(""), "list_files");
    EXPECT_EQ(seen[1].step->status, "running");
    ASSERT_TRUE(seen[2].error);
    EXPECT_EQ(seen[2].error->code, "TOOL_FAILED");
    EXPECT_TRUE(seen[2].ends_task());
}

TEST(ClientEvents, StopsWhenTheCallbackSaysSo) {
    const LoopbackHttpServer server(
        [](const RecordedRequest &, int, const LoopbackHttpServer::Send &send) {
            send(stream_head + event(1, "status", running) + event(2, "step", step));
            return false;
        });
    task_runner::Client client = client_for(server);
    int calls = 0;
    const task_runner::EventStreamEnd end =
        client.events("t1", [&calls](const task_runner::TaskEvent &) { return ++calls < 1; });
    EXPECT_EQ(calls, 1);
    EXPECT_FALSE(end.task_ended);
    EXPECT_EQ(end.last_event_id.value_or(-1), 1);
    EXPECT_EQ(server.requests().size(), 1u);
}

TEST(ClientEvents, StartsAfterTheGivenEventId) {
    const LoopbackHttpServer server(
        [](const RecordedRequest &, int, const LoopbackHttpServer::Send &send) {
            send(stream_head + event(7, "status", completed));
            return false;
        });
    task_runner::Client client = client_for(server);
    task_runner::EventOptions options;
    options.last_event_id = 6;
    client.events("t1", keep_going, options);
    EXPECT_EQ(server.requests()[0].header("last-event-id"), "6");
}

TEST(ClientEvents, AServerThatKeepsDroppingGivesUpWithATransportError) {
    const LoopbackHttpServer server(
        [](const RecordedRequest &, int, const LoopbackHttpServer::Send &send) {
            send(stream_head); // no event, then gone
            return false;
        });
    task_runner::Client client = client_for(server);
    task_runner::EventOptions options;
    options.reconnect_attempts = 2;
    EXPECT_THROW(client.events("t1", keep_going, options), task_runner::TransportError);
    EXPECT_EQ(server.requests().size(), 3u); // the first try and two more
}

TEST(ClientEvents, AnErrorAnswerIsAnApiError) {
    const LoopbackHttpServer server([](const RecordedRequest &, int,
                                       const LoopbackHttpServer::Send &send) {
        send(LoopbackHttpServer::response(404,
                                          R"({"error":{"code":"TASK_NOT_FOUND","message":"m"}})"));
        return true;
    });
    task_runner::Client client = client_for(server);
    try {
        client.events("t1", keep_going);
        ADD_FAILURE() << "no error";
    } catch (const task_runner::ApiError &e) {
        EXPECT_EQ(e.http_status(), 404);
        EXPECT_EQ(e.code(), "TASK_NOT_FOUND");
    }
}

TEST(ClientEvents, HostileStreamsAreApiErrors) {
    const std::vector<std::string> hostile = {
        event(1, "status", "not json"),
        event(1, "status", R"({"status":5})"),
        event(1, "step", R"({"step_number":"one"})"),
        "id: x1\nevent: status\ndata: {}\n\n",
        "data: {\"status\":\"running\"}\n\n", // no id
        "data: " + std::string(2 << 20, 'x'), // one endless line
    };
    for (const std::string &body : hostile) {
        const LoopbackHttpServer server(
            [&body](const RecordedRequest &, int, const LoopbackHttpServer::Send &send) {
                send(stream_head + body);
                return false;
            });
        task_runner::Client client = client_for(server);
        try {
            client.events("t1", keep_going);
            ADD_FAILURE() << "no error for " << body.substr(0, 60);
        } catch (const task_runner::ApiError &e) {
            EXPECT_EQ(e.code(), "INVALID_RESPONSE") << body.substr(0, 60);
        }
    }
}

TEST(EventStreamParser, ParsesEventsSplitAnywhere) {
    const std::string text = "retry: 2000\r\n\r\n: comment\nid: 3\nevent: step\ndata: a\ndata:b\n\n"
                             "data: no id field\n\nevent: x\n\n";
    for (std::size_t piece = 1; piece <= text.size(); ++piece) {
        tr::client::EventStreamParser parser;
        std::vector<tr::client::ServerSentEvent> events;
        for (std::size_t at = 0; at < text.size(); at += piece)
            parser.feed(std::string_view(text).substr(at, piece),
                        [&events](const tr::client::ServerSentEvent &e) {
                            events.push_back(e);
                            return true;
                        });
        ASSERT_EQ(events.size(), 2u) << piece;
        EXPECT_EQ(events[0].id.value_or(""), "3");
        EXPECT_EQ(events[0].event, "step");
        EXPECT_EQ(events[0].data, "a\nb");
        EXPECT_EQ(events[1].id.value_or(""), "3"); // the id stays until the next one
        EXPECT_EQ(events[1].event, "message");
        EXPECT_EQ(parser.retry().value_or(0ms), 2000ms);
    }
}

} // namespace
