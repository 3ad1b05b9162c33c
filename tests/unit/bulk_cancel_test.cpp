// core/bulk_cancel and POST /api/v1/tasks/cancel: every queued task matching the filter is
// cancelled, only the caller's own unless it is admin, a slice per transaction; running and
// finished tasks are left alone; a bad filter is a 400 naming what is wrong.
#include "core/bulk_cancel.h"

#include "route_fixture.h"

namespace tr::fcgi::test_routes {
namespace {

class BulkCancelTest : public RouteTest {
protected:
    HttpResponse cancel(const std::string &body, const std::string &bearer = "") {
        return call("POST", "/api/v1/tasks/cancel", body, bearer);
    }

    long long cancelled_count(const HttpResponse &response) {
        const JsonPtr body = body_of(response);
        return json_integer_value(json_object_get(body.get(), "cancelled"));
    }

    void start(const std::string &id) {
        SQLite::Statement update(db_.handle(),
                                 "UPDATE tasks SET status = 'running', started_at = ?, "
                                 "lease_expires_at = ? WHERE id = ?");
        update.bind(1, format_utc(Clock::now()));
        update.bind(2, format_utc(Clock::now() + std::chrono::minutes(1)));
        update.bind(3, id);
        update.exec();
    }
};

TEST_F(BulkCancelTest, CancelsTheQueuedTasksThatMatchAndNoOthers) {
    const std::string low = queued("a", Priority::Low);
    const std::string high = queued("b", Priority::High);
    const std::string running = queued("c", Priority::Low);
    start(running);
    const HttpResponse response = cancel(R"({"status": "queued", "priority": "low"})");
    ASSERT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(cancelled_count(response), 1);
    EXPECT_EQ(status_of(low), "cancelled");
    EXPECT_EQ(status_of(high), "queued");
    EXPECT_EQ(status_of(running), "running"); // a running task is cancelled one by one
}

TEST_F(BulkCancelTest, FiltersByBatchAndSince) {
    const std::string old_in_batch = queued("a", Priority::Normal, "", "b1", 30);
    const std::string new_in_batch = queued("b", Priority::Normal, "", "b1", 0);
    const std::string other_batch = queued("c", Priority::Normal, "", "b2", 0);
    const std::string since = format_utc(Clock::now() - std::chrono::minutes(5));
    const HttpResponse response =
        cancel(R"({"status": "queued", "batch_id": "b1", "since": ")" + since + "\"}");
    ASSERT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(cancelled_count(response), 1);
    EXPECT_EQ(status_of(new_in_batch), "cancelled");
    EXPECT_EQ(status_of(old_in_batch), "queued");
    EXPECT_EQ(status_of(other_batch), "queued");
}

TEST_F(BulkCancelTest, AKeyCancelsOnlyItsOwnersTasksAndAnAdminKeyAnyones) {
    const std::string alice_key = key("alice", {"read", "submit"});
    const std::string admin_key = key("root", {"admin"});
    const std::string alices = queued("a", Priority::Normal, "alice");
    const std::string bobs = queued("b", Priority::Normal, "bob");
    EXPECT_EQ(cancelled_count(cancel(R"({"status": "queued"})", alice_key)), 1);
    EXPECT_EQ(status_of(alices), "cancelled");
    EXPECT_EQ(status_of(bobs), "queued");
    EXPECT_EQ(cancelled_count(cancel(R"({"status": "queued"})", admin_key)), 1);
    EXPECT_EQ(status_of(bobs), "cancelled");
}

TEST_F(BulkCancelTest, AReadKeyIsRefused) {
    const std::string reader = key("alice", {"read"});
    const std::string id = queued("a", Priority::Normal, "alice");
    const HttpResponse response = cancel(R"({"status": "queued"})", reader);
    EXPECT_EQ(response.status, 403);
    EXPECT_EQ(error_code(response), "AUTHORIZATION_ERROR");
    EXPECT_EQ(status_of(id), "queued");
}

TEST_F(BulkCancelTest, AQueueLongerThanASliceIsCancelledWholeInSeveralTransactions) {
    for (int i = 0; i < bulk_cancel_slice * 2 + 7; ++i)
        queued("t" + std::to_string(i), Priority::Normal);
    QueuedTaskFilter filter;
    filter.until = format_utc(Clock::now() + std::chrono::seconds(1));
    EXPECT_EQ(cancel_queued_slice(db_, filter, Clock::now(), bulk_cancel_slice), bulk_cancel_slice);
    const HttpResponse response = cancel(R"({"status": "queued"})");
    EXPECT_EQ(cancelled_count(response), bulk_cancel_slice + 7);
    SQLite::Statement left(db_.handle(), "SELECT count(*) FROM tasks WHERE status = 'queued'");
    left.executeStep();
    EXPECT_EQ(left.getColumn(0).getInt(), 0);
}

TEST_F(BulkCancelTest, TasksSubmittedAfterTheRequestAreLeftAlone) {
    const std::string later = queued("later", Priority::Normal, "", "", -1); // a minute ahead
    EXPECT_EQ(cancelled_count(cancel(R"({"status": "queued"})")), 0);
    EXPECT_EQ(status_of(later), "queued");
}

TEST_F(BulkCancelTest, TheSliceIsAnIndexRangeOfTheQueuedTasks) {
    SQLite::Statement plan(db_.handle(),
                           "EXPLAIN QUERY PLAN SELECT id FROM tasks INDEXED BY tasks_by_status "
                           "WHERE status = 'queued' AND created_at >= '' AND created_at <= 'z' "
                           "ORDER BY created_at LIMIT 200");
    std::string text;
    while (plan.executeStep())
        text += plan.getColumn(3).getString() + "\n";
    EXPECT_TRUE(test::contains(text, "USING INDEX tasks_by_status")) << text;
    EXPECT_FALSE(test::contains(text, "TEMP B-TREE")) << text;
}

TEST_F(BulkCancelTest, BadFiltersAreRefusedWithTheReason) {
    const std::string id = queued("a", Priority::Normal);
    const struct {
        const char *body;
        const char *says;
    } cases[] = {
        {R"({})", "status must be \"queued\" (got none)"},
        {R"({"status": "running"})", "only queued tasks are cancelled in bulk"},
        {R"({"status": 1})", "status must be a string"},
        {R"({"status": "queued", "priority": "urgent"})", "priority must be one of"},
        {R"({"status": "queued", "batch_id": ""})", "batch_id must be 1..128"},
        {R"({"status": "queued", "since": "yesterday"})", "since must be an RFC 3339 time"},
        {R"({"status": "queued", "owner": "bob"})", "unknown field \"owner\""},
        {R"([])", "the body must be a JSON object"},
        {R"({"status": )", ""},
    };
    for (const auto &c : cases) {
        const HttpResponse response = cancel(c.body);
        EXPECT_EQ(response.status, 400) << c.body;
        EXPECT_EQ(error_code(response), "INVALID_REQUEST") << c.body;
        EXPECT_TRUE(test::contains(error_message(response), c.says))
            << c.body << ": " << response.body;
    }
    EXPECT_EQ(cancel("").status, 400); // no body
    EXPECT_EQ(status_of(id), "queued");
}

TEST_F(BulkCancelTest, ATaskCannotBeNamedLikeTheEndpoint) {
    const HttpResponse response =
        call("POST", "/api/v1/tasks", R"({"task": "x", "task_id": "cancel"})");
    EXPECT_EQ(response.status, 400);
    EXPECT_TRUE(test::contains(error_message(response), "task_id \"cancel\" is reserved"))
        << response.body;
}

} // namespace
} // namespace tr::fcgi::test_routes
