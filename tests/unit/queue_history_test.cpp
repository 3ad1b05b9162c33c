// core/queue_history and GET /api/v1/metrics/history: each minute of the last hour counts what
// was submitted, started and finished in it, the depth is worked back from the queue now, and
// every count is an index range, never a scan of the table. GET /api/v1/session says who the
// caller is.
#include "core/queue_history.h"

#include "route_fixture.h"

namespace tr::fcgi::test_routes {
namespace {

class QueueHistoryTest : public RouteTest {
protected:
    // Moves a task on as the runner would: started `started_ago`, and finished `finished_ago`
    // (negative: not finished).
    void run(const std::string &id, int started_ago, int finished_ago) {
        const TimePoint now = Clock::now();
        SQLite::Statement update(db_.handle(),
                                 "UPDATE tasks SET status = ?, started_at = ?, finished_at = ?, "
                                 "lease_expires_at = ? WHERE id = ?");
        const bool finished = finished_ago >= 0;
        update.bind(1, finished ? "completed" : "running");
        update.bind(2, format_utc(now - std::chrono::minutes(started_ago)));
        if (finished)
            update.bind(3, format_utc(now - std::chrono::minutes(finished_ago)));
        else
            update.bind(4, format_utc(now + std::chrono::minutes(5)));
        update.bind(5, id);
        update.exec();
    }

    const QueueMinute &minute_ago(const std::vector<QueueMinute> &minutes, int ago) {
        return minutes.at(minutes.size() - 1 - static_cast<std::size_t>(ago));
    }
};

TEST_F(QueueHistoryTest, CountsEachMinuteAndWorksTheDepthBack) {
    const std::string a = queued("a", Priority::Normal, "", "", 10); // queued 10 min ago
    const std::string b = queued("b", Priority::Normal, "", "", 10);
    queued("c", Priority::Normal, "", "", 2);         // still queued
    queued("ancient", Priority::Normal, "", "", 120); // before the hour: only in the depth
    run(a, 8, 5);
    run(b, 8, -1);
    const std::vector<QueueMinute> minutes = queue_history(db_, Clock::now());
    ASSERT_EQ(minutes.size(), static_cast<std::size_t>(history_minutes));
    EXPECT_EQ(minute_ago(minutes, 10).submitted, 2);
    EXPECT_EQ(minute_ago(minutes, 8).started, 2);
    EXPECT_EQ(minute_ago(minutes, 5).finished, 1);
    EXPECT_EQ(minute_ago(minutes, 2).submitted, 1);
    EXPECT_EQ(minute_ago(minutes, 0).queue_depth, 2); // c and ancient
    EXPECT_EQ(minute_ago(minutes, 3).queue_depth, 1); // before c came
    EXPECT_EQ(minute_ago(minutes, 9).queue_depth, 3); // a and b waiting
    EXPECT_EQ(minute_ago(minutes, 11).queue_depth, 1);
    EXPECT_EQ(minutes.front().queue_depth, 1);
    long long submitted = 0;
    for (const QueueMinute &m : minutes)
        submitted += m.submitted;
    EXPECT_EQ(submitted, 3);
}

TEST_F(QueueHistoryTest, ATaskCancelledBeforeItStartedLeavesTheQueue) {
    queued("x", Priority::Normal, "", "", 4);
    ASSERT_EQ(call("POST", "/api/v1/tasks/cancel", R"({"status": "queued"})").status, 200);
    const std::vector<QueueMinute> minutes = queue_history(db_, Clock::now());
    EXPECT_EQ(minute_ago(minutes, 0).queue_depth, 0);
    EXPECT_EQ(minute_ago(minutes, 1).queue_depth, 1);
    EXPECT_EQ(minute_ago(minutes, 4).queue_depth, 1);
    EXPECT_EQ(minute_ago(minutes, 5).queue_depth, 0);
    EXPECT_EQ(minute_ago(minutes, 0).finished, 1);
}

TEST_F(QueueHistoryTest, EveryCountIsAnIndexRange) {
    for (const char *sql :
         {"SELECT substr(started_at, 1, 16), count(*) FROM tasks INDEXED BY tasks_by_started "
          "WHERE started_at >= '2026' AND started_at < '2027' GROUP BY 1",
          "SELECT substr(finished_at, 1, 16), count(*) FROM tasks INDEXED BY tasks_finished "
          "WHERE status IN ('completed', 'failed', 'cancelled', 'timeout') "
          "AND finished_at >= '2026' AND finished_at < '2027' GROUP BY 1",
          "SELECT substr(created_at, 1, 16), count(*) FROM tasks INDEXED BY tasks_newest "
          "WHERE created_at >= '2026' AND created_at < '2027' GROUP BY 1"}) {
        SQLite::Statement plan(db_.handle(), std::string("EXPLAIN QUERY PLAN ") + sql);
        std::string text;
        while (plan.executeStep())
            text += plan.getColumn(3).getString() + "\n";
        EXPECT_TRUE(test::contains(text, "USING INDEX") ||
                    test::contains(text, "USING COVERING INDEX"))
            << text;
        EXPECT_TRUE(test::contains(text, ">? AND")) << text; // a range, not the whole index
    }
}

TEST_F(QueueHistoryTest, TheEndpointAnswersTheHourAndRefusesParameters) {
    queued("a", Priority::Normal);
    const HttpResponse response = call("GET", "/api/v1/metrics/history");
    ASSERT_EQ(response.status, 200) << response.body;
    const JsonPtr body = body_of(response);
    EXPECT_EQ(json_array_size(json_object_get(body.get(), "minutes")), 60U);
    EXPECT_EQ(json_integer_value(json_object_get(body.get(), "queue_depth")), 1);
    const HttpResponse refused = call("GET", "/api/v1/metrics/history?minutes=5");
    EXPECT_EQ(refused.status, 400);
    EXPECT_TRUE(test::contains(refused.body, "unknown query parameter")) << refused.body;
}

TEST_F(QueueHistoryTest, TheHistoryNeedsAKey) {
    key("alice", {"read"});
    EXPECT_EQ(call("GET", "/api/v1/metrics/history").status, 401);
}

TEST_F(QueueHistoryTest, TheSessionSaysWhoTheCallerIsAndWhatItMayDo) {
    const HttpResponse open = call("GET", "/api/v1/session");
    ASSERT_EQ(open.status, 200);
    EXPECT_EQ(open.body, R"({"auth_required":false,"owner":null,"key_id":null,)"
                         R"("scopes":["read","submit","admin"]})");
    const std::string reader = key("alice", {"read"});
    const HttpResponse read = call("GET", "/api/v1/session", "", reader);
    const JsonPtr body = body_of(read);
    EXPECT_EQ(json_string_member(body.get(), "owner"), "alice");
    EXPECT_EQ(dump_json(json_object_get(body.get(), "scopes")), R"(["read"])");
    EXPECT_EQ(call("GET", "/api/v1/session").status, 401);
    EXPECT_EQ(error_code(call("GET", "/api/v1/session", "", "trk_made_up")),
              "AUTHENTICATION_ERROR");
}

} // namespace
} // namespace tr::fcgi::test_routes
