// fcgi/request_metrics: a handler process's request counts and durations reach metric_counters
// by flushes that add to what other processes wrote; a flush that fails loses nothing; label
// values are escaped as Prometheus's text format requires.
#include "fcgi/request_metrics.h"

#include "core/migrate.h"
#include "test_support.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace tr::fcgi {
namespace {

const std::string health_labels = "method=\"GET\",route=\"/health\"";

class RequestMetricsTest : public ::testing::Test {
protected:
    RequestMetricsTest() : path_(dir_ / "tasks.db") {
        prepare_database_file(path_);
        db_ = std::make_unique<Db>(path_);
        migrate(db_->handle());
    }

    // The stored counter, or nullopt when there is no such row.
    std::optional<double> counter(const std::string &name, const std::string &labels) {
        SQLite::Statement select(db_->handle(),
                                 "SELECT value FROM metric_counters WHERE name = ? AND labels = ?");
        select.bind(1, name);
        select.bind(2, labels);
        if (!select.executeStep())
            return std::nullopt;
        return select.getColumn(0).getDouble();
    }

    std::optional<double> requests(const std::string &labels, int status) {
        return counter("ai_agent_requests_total",
                       labels + ",status=\"" + std::to_string(status) + "\"");
    }

    std::optional<double> bucket(const std::string &labels, const std::string &bound) {
        return counter("ai_agent_request_duration_seconds_bucket",
                       labels + ",le=\"" + bound + "\"");
    }

    test::TempDir dir_;
    std::string path_;
    std::unique_ptr<Db> db_;
};

TEST_F(RequestMetricsTest, NothingIsStoredBeforeAFlush) {
    RequestMetrics metrics;
    metrics.record("GET", "/health", 200, 0.001);
    EXPECT_EQ(requests(health_labels, 200), std::nullopt);
    metrics.flush(*db_);
    EXPECT_EQ(requests(health_labels, 200), 1.0);
}

TEST_F(RequestMetricsTest, CountsByMethodRouteAndStatus) {
    RequestMetrics metrics;
    metrics.record("GET", "/health", 200, 0.001);
    metrics.record("GET", "/health", 200, 0.002);
    metrics.record("GET", "/health", 503, 0.001);
    metrics.record("POST", "/api/v1/tasks", 202, 0.001);
    metrics.flush(*db_);
    EXPECT_EQ(requests(health_labels, 200), 2.0);
    EXPECT_EQ(requests(health_labels, 503), 1.0);
    EXPECT_EQ(requests("method=\"POST\",route=\"/api/v1/tasks\"", 202), 1.0);
    EXPECT_EQ(requests("method=\"POST\",route=\"/api/v1/tasks\"", 200), std::nullopt);
}

TEST_F(RequestMetricsTest, TheHistogramHasEveryBucketFromItsFirstRequest) {
    RequestMetrics metrics;
    metrics.record("GET", "/health", 200, 0.03); // above 0.025, up to 0.05
    metrics.record("GET", "/health", 200, 20.0); // above every bound but +Inf
    metrics.flush(*db_);
    for (const std::string bound : {"0.005", "0.01", "0.025"})
        EXPECT_EQ(bucket(health_labels, bound), 0.0) << bound;
    for (const std::string bound : {"0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10"})
        EXPECT_EQ(bucket(health_labels, bound), 1.0) << bound;
    EXPECT_EQ(bucket(health_labels, "+Inf"), 2.0);
    EXPECT_DOUBLE_EQ(counter("ai_agent_request_duration_seconds_sum", health_labels).value(),
                     20.03);
    EXPECT_EQ(counter("ai_agent_request_duration_seconds_count", health_labels), 2.0);
}

TEST_F(RequestMetricsTest, FlushesOfSeveralProcessesAddUpAndNothingIsCountedTwice) {
    RequestMetrics first, second; // two handler processes
    first.record("GET", "/health", 200, 0.001);
    second.record("GET", "/health", 200, 0.001);
    second.record("GET", "/health", 200, 0.001);
    first.flush(*db_);
    second.flush(*db_);
    EXPECT_EQ(requests(health_labels, 200), 3.0);
    first.flush(*db_); // nothing new
    second.flush(*db_);
    EXPECT_EQ(requests(health_labels, 200), 3.0);
    first.record("GET", "/health", 200, 0.001);
    first.flush(*db_);
    EXPECT_EQ(requests(health_labels, 200), 4.0);
}

TEST_F(RequestMetricsTest, AFailedFlushKeepsItsCountsForTheNext) {
    RequestMetrics metrics;
    metrics.record("GET", "/health", 200, 0.001);
    // A database without the schema: the write fails as a broken one would.
    Db unprepared(dir_ / "other.db");
    EXPECT_THROW(metrics.flush(unprepared), SQLite::Exception);
    metrics.record("GET", "/health", 200, 0.001); // recorded while the counts were out
    metrics.flush(*db_);
    EXPECT_EQ(requests(health_labels, 200), 2.0);
    EXPECT_EQ(counter("ai_agent_request_duration_seconds_count", health_labels), 2.0);
}

TEST_F(RequestMetricsTest, LabelValuesEscapeQuotesBackslashesAndNewlines) {
    RequestMetrics metrics;
    metrics.record("GET", "/a\"b\\c\nd", 200, 0.001);
    metrics.flush(*db_);
    EXPECT_EQ(requests("method=\"GET\",route=\"/a\\\"b\\\\c\\nd\"", 200), 1.0);
}

} // namespace
} // namespace tr::fcgi
