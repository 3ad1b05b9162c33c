// fcgi/handlers/health: 200 only while the database answers and a runner has sent a heartbeat
// within the window; otherwise 503 with the reason, for a load balancer and a human alike.
#include "core/runners.h"
#include "route_fixture.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace tr::fcgi {
namespace {

// The route tests' handler process in miniature (route_fixture.h), with runners to look at.
class HealthTest : public test_routes::RouteTest {
protected:
    // A runner row as the runner writes it, its heartbeat `age` ago.
    void add_runner(const std::string &id, std::chrono::seconds age, bool stopped = false) {
        const std::string heartbeat = format_utc(Clock::now() - age);
        SQLite::Statement insert(
            db_.handle(), "INSERT INTO runners (id, hostname, pid, version, "
                          "max_concurrent_tasks, started_at, heartbeat_at, stopped_at, "
                          "sandbox) VALUES (?, 'host', 1, '0.1.0', 4, ?, ?, ?, 'bubblewrap')");
        insert.bind(1, id);
        insert.bind(2, heartbeat);
        insert.bind(3, heartbeat);
        if (stopped)
            insert.bind(4, heartbeat);
        insert.exec();
    }

    HttpResponse get_health() { return get_health(context_); }

    HttpResponse get_health(HandlerContext &context) {
        HttpRequest request;
        request.method = "GET";
        request.path = "/health";
        std::string matched;
        return router_.dispatch(context, request, no_stream_, matched);
    }
};

std::string member(const HttpResponse &response, const char *name) {
    const JsonPtr body = parse_json(response.body);
    const json_t *value = json_object_get(body.get(), name);
    if (json_is_integer(value))
        return std::to_string(json_integer_value(value));
    return json_is_null(value) ? "null" : json_string_member(body.get(), name).value_or("?");
}

TEST_F(HealthTest, HealthyWithALiveRunner) {
    add_runner("r1", std::chrono::seconds(1));
    const HttpResponse response = get_health();
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(member(response, "status"), "healthy");
    EXPECT_EQ(member(response, "database"), "ok");
    EXPECT_EQ(member(response, "runners_alive"), "1");
    EXPECT_EQ(member(response, "sandbox"), "bubblewrap");
    EXPECT_NE(member(response, "last_runner_heartbeat"), "null");
}

TEST_F(HealthTest, UnhealthyWhenNoRunnerHasSentAHeartbeatRecently) {
    add_runner("stale", runner_alive_window + std::chrono::seconds(5));
    add_runner("stopped", std::chrono::seconds(1), true);
    const HttpResponse response = get_health();
    EXPECT_EQ(response.status, 503);
    EXPECT_EQ(member(response, "status"), "unhealthy");
    EXPECT_EQ(member(response, "database"), "ok");
    EXPECT_EQ(member(response, "runners_alive"), "0");
    EXPECT_EQ(member(response, "sandbox"), "null");
    EXPECT_TRUE(test::contains(member(response, "reason"), "no runner has sent a heartbeat"));
}

TEST_F(HealthTest, UnhealthyWithoutAnyRunner) {
    const HttpResponse response = get_health();
    EXPECT_EQ(response.status, 503);
    EXPECT_EQ(member(response, "last_runner_heartbeat"), "null");
}

TEST_F(HealthTest, UnhealthyWhenTheDatabaseFailsToAnswer) {
    // A file without the schema (a wrong storage.database): the query fails in SQLite, which
    // is a 503 that says so, not a 500.
    Db unprepared(dir_ / "other.db");
    HandlerContext context{config_, log_, unprepared, process_};
    const HttpResponse response = get_health(context);
    EXPECT_EQ(response.status, 503);
    EXPECT_EQ(member(response, "status"), "unhealthy");
    EXPECT_EQ(member(response, "database"), "unavailable");
    EXPECT_EQ(member(response, "reason"), "the database does not answer");
}

} // namespace
} // namespace tr::fcgi
