// core/provider_backoff: a provider's 429 backoff shared through SQLite: in force until its
// end, never shortened by a later, shorter one, and listed only while it lasts. Every test
// works on a real, freshly migrated SQLite file.
#include "core/provider_backoff.h"

#include "core/db.h"
#include "core/migrate.h"
#include "test_support.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tr {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using test::TempDir;

const TimePoint t0 = TimePoint(seconds(1800000000)); // 2027-01-15T08:00:00Z
const std::string openai = "https://api.openai.com/v1";
const std::string anthropic = "https://api.anthropic.com/v1";

class ProviderBackoffs : public ::testing::Test {
protected:
    ProviderBackoffs() : path_(dir_ / "tasks.db") {
        prepare_database_file(path_);
        db_ = std::make_unique<Db>(path_);
        migrate(db_->handle());
    }

    Db &db() { return *db_; }

    void record(const std::string &endpoint, TimePoint until, TimePoint now = t0,
                const std::string &reason = "429 Too Many Requests") {
        const std::string provider = endpoint == anthropic ? "anthropic" : "openai";
        record_provider_backoff(db(), {endpoint, provider, format_utc(until), 429, reason}, now);
    }

    TempDir dir_;
    std::string path_;
    std::unique_ptr<Db> db_;
};

TEST_F(ProviderBackoffs, HoldsAnEndpointBackUntilItsEnd) {
    record(openai, t0 + seconds(20));
    EXPECT_EQ(provider_backoff_until(db(), openai, t0), t0 + seconds(20));
    EXPECT_EQ(provider_backoff_until(db(), openai, t0 + seconds(19)), t0 + seconds(20));
    EXPECT_EQ(provider_backoff_until(db(), openai, t0 + seconds(20) - milliseconds(1)),
              t0 + seconds(20));
}

TEST_F(ProviderBackoffs, EndsAtItsEnd) {
    record(openai, t0 + seconds(20));
    EXPECT_EQ(provider_backoff_until(db(), openai, t0 + seconds(20)), std::nullopt);
    EXPECT_EQ(provider_backoff_until(db(), openai, t0 + seconds(21)), std::nullopt);
}

TEST_F(ProviderBackoffs, HoldsBackOnlyTheEndpointThatWasLimited) {
    record(openai, t0 + seconds(20));
    EXPECT_EQ(provider_backoff_until(db(), anthropic, t0), std::nullopt);
    EXPECT_EQ(provider_backoff_until(db(), "https://api.openai.com/v2", t0), std::nullopt);
}

TEST_F(ProviderBackoffs, IsNeverShortenedByALaterShorterOne) {
    record(openai, t0 + seconds(60));
    record(openai, t0 + seconds(5), t0 + seconds(1));
    EXPECT_EQ(provider_backoff_until(db(), openai, t0 + seconds(2)), t0 + seconds(60));
    EXPECT_EQ(provider_backoff_until(db(), openai, t0 + seconds(30)), t0 + seconds(60));
}

TEST_F(ProviderBackoffs, IsExtendedByALaterLongerOne) {
    record(openai, t0 + seconds(5));
    record(openai, t0 + seconds(90), t0 + seconds(1));
    EXPECT_EQ(provider_backoff_until(db(), openai, t0 + seconds(30)), t0 + seconds(90));
}

TEST_F(ProviderBackoffs, StartsAgainAfterAnEndedOne) {
    record(openai, t0 + seconds(5));
    record(openai, t0 + seconds(130), t0 + seconds(100));
    EXPECT_EQ(provider_backoff_until(db(), openai, t0 + seconds(100)), t0 + seconds(130));
}

TEST_F(ProviderBackoffs, ListsOnlyTheBackoffsInForce) {
    record(openai, t0 + seconds(60), t0, "openai is rate limited");
    record(anthropic, t0 + seconds(10), t0, "anthropic is rate limited");
    record("http://10.0.0.5:8000/v1", t0 + seconds(3));

    const std::vector<ProviderBackoff> at_start = active_provider_backoffs(db(), t0);
    ASSERT_EQ(at_start.size(), 3u);
    EXPECT_EQ(at_start[0].endpoint, "http://10.0.0.5:8000/v1"); // soonest to end first
    EXPECT_EQ(at_start[1].endpoint, anthropic);
    EXPECT_EQ(at_start[2].endpoint, openai);

    const std::vector<ProviderBackoff> later = active_provider_backoffs(db(), t0 + seconds(10));
    ASSERT_EQ(later.size(), 1u);
    EXPECT_EQ(later[0].endpoint, openai);
    EXPECT_EQ(later[0].provider, "openai");
    EXPECT_EQ(later[0].until, format_utc(t0 + seconds(60)));
    EXPECT_EQ(later[0].status, 429);
    EXPECT_EQ(later[0].reason, "openai is rate limited");

    EXPECT_TRUE(active_provider_backoffs(db(), t0 + seconds(60)).empty());
}

TEST_F(ProviderBackoffs, ListsNothingWhenNoProviderWasLimited) {
    EXPECT_TRUE(active_provider_backoffs(db(), t0).empty());
    EXPECT_EQ(provider_backoff_until(db(), openai, t0), std::nullopt);
}

TEST_F(ProviderBackoffs, IsSharedWithEveryConnectionToTheDatabase) {
    record(openai, t0 + seconds(20));
    Db other(path_);
    EXPECT_EQ(provider_backoff_until(other, openai, t0), t0 + seconds(20));
    ASSERT_EQ(active_provider_backoffs(other, t0).size(), 1u);
}

} // namespace
} // namespace tr
