// Webhook deliveries on a real, migrated SQLite file: the triggers that make them when a task or
// batch ends, the lease that keeps two runners from sending one attempt at once, the retry
// schedule and where it stops, the secrets, and the signature's exact format.
#include "core/webhook_deliveries.h"

#include "core/api_keys.h"
#include "core/batch_store.h"
#include "core/migrate.h"
#include "core/task_store.h"
#include "core/webhook_secrets.h"
#include "test_support.h"

#include <gtest/gtest.h>

namespace tr {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class WebhookDeliveries : public ::testing::Test {
protected:
    void SetUp() override {
        db_ = std::make_unique<Db>(dir_ / "tasks.db");
        migrate(db_->handle());
        config_.retry_for_seconds = 60;
        config_.first_retry_delay_ms = 1000;
        config_.max_retry_delay_seconds = 8;
    }

    std::string submit(const std::string &text, const std::optional<std::string> &callback,
                       const std::string &key_id = "") {
        TaskRequest request;
        request.task = text;
        request.callback_url = callback;
        return insert_task(*db_, request, {"", "", 0, key_id}, t0_).id;
    }

    void finish(const std::string &id, const std::string &status) {
        Query update = db_->query(
            "UPDATE tasks SET status = ?, finished_at = ?, lease_expires_at = NULL WHERE id = ?");
        update->bind(1, status);
        update->bind(2, format_utc(t0_));
        update->bind(3, id);
        update->exec();
    }

    int deliveries() {
        Query count = db_->query("SELECT count(*) FROM webhook_deliveries");
        count->executeStep();
        return count->getColumn(0).getInt();
    }

    DeliveryAttempt failure(TimePoint at, long status) {
        DeliveryAttempt attempt;
        attempt.at = at;
        attempt.http_status = status;
        attempt.error = "HTTP " + std::to_string(status);
        return attempt;
    }

    test::TempDir dir_;
    std::unique_ptr<Db> db_;
    WebhooksConfig config_;
    // Deliveries are stamped by SQLite's clock at the ending: the test's times start from now.
    const TimePoint t0_ = Clock::now();
};

TEST(WebhookSignature, IsTheStripeFormatOverTimestampDotBody) {
    // Computed independently: hmac.new(b"whsec_test", b'1700000000.{"task_id":"t1"}', sha256).
    EXPECT_EQ(webhook_signature("whsec_test", 1700000000, R"({"task_id":"t1"})"),
              "t=1700000000,v1=61d77fa778645735e8be7cc3846546ccca2f44533bee7f471c9cb5cfa24445ce");
}

TEST(WebhookRetryDelay, DoublesFromTheFirstDelayUpToTheCap) {
    WebhooksConfig config;
    config.first_retry_delay_ms = 500;
    config.max_retry_delay_seconds = 5;
    EXPECT_EQ(webhook_retry_delay(1, config), milliseconds(500));
    EXPECT_EQ(webhook_retry_delay(2, config), milliseconds(1000));
    EXPECT_EQ(webhook_retry_delay(3, config), milliseconds(2000));
    EXPECT_EQ(webhook_retry_delay(4, config), milliseconds(4000));
    EXPECT_EQ(webhook_retry_delay(5, config), milliseconds(5000));
    EXPECT_EQ(webhook_retry_delay(1000, config), milliseconds(5000)); // no overflow
}

TEST_F(WebhookDeliveries, ATaskThatEndsWithACallbackGetsOneDelivery) {
    const std::string with = submit("with", std::string("https://hooks.example.com/a"));
    const std::string without = submit("without", std::nullopt);
    finish(without, "completed");
    EXPECT_EQ(deliveries(), 0);
    {
        Query running = db_->query(
            "UPDATE tasks SET status = 'running', lease_expires_at = '2099-01-01T00:00:00.000Z' "
            "WHERE id = ?");
        running->bind(1, with);
        running->exec();
    }
    EXPECT_EQ(deliveries(), 0); // not ended yet
    finish(with, "failed");
    EXPECT_EQ(deliveries(), 1);
    const JsonPtr task = *load_task(*db_, with);
    EXPECT_EQ(json_string_member(task.get(), "callback_url").value_or(""),
              "https://hooks.example.com/a");
    const json_t *callback = json_object_get(task.get(), "callback");
    EXPECT_EQ(json_string_member(callback, "state").value_or(""), "pending");
    EXPECT_EQ(json_array_size(json_object_get(callback, "attempts")), 0u);
    EXPECT_TRUE(json_is_null(json_object_get((*load_task(*db_, without)).get(), "callback")));
}

TEST_F(WebhookDeliveries, ABatchGetsOneDeliveryWhenItsLastTaskEnds) {
    BatchRequest batch;
    batch.callback_url = "https://hooks.example.com/batch";
    batch.tasks.resize(2);
    batch.tasks[0].task = "one";
    batch.tasks[1].task = "two";
    const SubmittedBatch submitted = insert_batch(*db_, batch, "", t0_);
    finish(submitted.tasks[0].id, "completed");
    EXPECT_EQ(deliveries(), 0);
    finish(submitted.tasks[1].id, "cancelled");
    EXPECT_EQ(deliveries(), 1);
    const std::optional<ClaimedDelivery> claimed =
        claim_due_delivery(*db_, "r1", t0_ + seconds(1), t0_ + seconds(40));
    ASSERT_TRUE(claimed);
    EXPECT_EQ(claimed->batch_id, submitted.id);
    EXPECT_EQ(claimed->task_id, "");
}

TEST_F(WebhookDeliveries, ALeasedDeliveryIsNotClaimedAgainUntilTheLeaseLapses) {
    finish(submit("t", std::string("https://hooks.example.com/")), "completed");
    const TimePoint now = t0_ + seconds(1);
    ASSERT_TRUE(claim_due_delivery(*db_, "r1", now, now + seconds(40)));
    EXPECT_FALSE(claim_due_delivery(*db_, "r2", now + seconds(39), now + seconds(80)));
    // r1 died mid-attempt: after its lease, another runner sends it again (at least once).
    const std::optional<ClaimedDelivery> again =
        claim_due_delivery(*db_, "r2", now + seconds(41), now + seconds(80));
    ASSERT_TRUE(again);
    EXPECT_EQ(again->attempts, 0);
    // r1's late result no longer counts: the lease is r2's.
    EXPECT_EQ(record_delivery_attempt(*db_, *again, "r1", failure(now, 500), config_), "lost");
}

TEST_F(WebhookDeliveries, FailuresAreRetriedWithBackoffThenDelivered) {
    const std::string id = submit("t", std::string("https://hooks.example.com/"));
    finish(id, "completed");
    TimePoint now = t0_ + seconds(1);
    std::optional<ClaimedDelivery> delivery = claim_due_delivery(*db_, "r", now, now + seconds(40));
    ASSERT_TRUE(delivery);
    EXPECT_EQ(record_delivery_attempt(*db_, *delivery, "r", failure(now, 500), config_), "pending");
    EXPECT_FALSE(claim_due_delivery(*db_, "r", now + milliseconds(900), now + seconds(40)));
    now += milliseconds(1000);
    delivery = claim_due_delivery(*db_, "r", now, now + seconds(40));
    ASSERT_TRUE(delivery);
    EXPECT_EQ(delivery->attempts, 1);
    EXPECT_EQ(record_delivery_attempt(*db_, *delivery, "r", failure(now, 503), config_), "pending");
    EXPECT_FALSE(claim_due_delivery(*db_, "r", now + milliseconds(1900), now + seconds(40)));
    now += milliseconds(2000);
    delivery = claim_due_delivery(*db_, "r", now, now + seconds(40));
    ASSERT_TRUE(delivery);
    DeliveryAttempt ok;
    ok.at = now;
    ok.http_status = 200;
    ok.duration_ms = 3;
    EXPECT_EQ(record_delivery_attempt(*db_, *delivery, "r", ok, config_), "delivered");
    EXPECT_FALSE(claim_due_delivery(*db_, "r", now + seconds(3600), now + seconds(3640)));

    const JsonPtr task = *load_task(*db_, id);
    const json_t *callback = json_object_get(task.get(), "callback");
    EXPECT_EQ(json_string_member(callback, "state").value_or(""), "delivered");
    const json_t *attempts = json_object_get(callback, "attempts");
    ASSERT_EQ(json_array_size(attempts), 3u);
    EXPECT_EQ(json_integer_value(json_object_get(json_array_get(attempts, 0), "http_status")), 500);
    EXPECT_EQ(json_string_member(json_array_get(attempts, 1), "error").value_or(""), "HTTP 503");
    EXPECT_TRUE(json_is_null(json_object_get(json_array_get(attempts, 2), "error")));
    EXPECT_EQ(json_integer_value(json_object_get(json_array_get(attempts, 2), "attempt")), 3);
}

TEST_F(WebhookDeliveries, GivesUpWhenTheNextAttemptWouldPassRetryFor) {
    finish(submit("t", std::string("https://hooks.example.com/")), "completed");
    config_.retry_for_seconds = 2;
    TimePoint now = t0_ + seconds(1);
    std::optional<ClaimedDelivery> delivery = claim_due_delivery(*db_, "r", now, now + seconds(40));
    ASSERT_TRUE(delivery);
    EXPECT_EQ(record_delivery_attempt(*db_, *delivery, "r", failure(now, 500), config_), "pending");
    now += seconds(1);
    delivery = claim_due_delivery(*db_, "r", now, now + seconds(40));
    ASSERT_TRUE(delivery);
    EXPECT_EQ(record_delivery_attempt(*db_, *delivery, "r", failure(now, 500), config_), "failed");
    EXPECT_FALSE(claim_due_delivery(*db_, "r", now + seconds(3600), now + seconds(3640)));
}

TEST_F(WebhookDeliveries, ARefusedAddressFailsAtOnce) {
    finish(submit("t", std::string("https://hooks.example.com/")), "completed");
    const TimePoint now = t0_ + seconds(1);
    const std::optional<ClaimedDelivery> delivery =
        claim_due_delivery(*db_, "r", now, now + seconds(40));
    ASSERT_TRUE(delivery);
    DeliveryAttempt refused;
    refused.at = now;
    refused.error = "refused: a loopback address";
    refused.retryable = false;
    EXPECT_EQ(record_delivery_attempt(*db_, *delivery, "r", refused, config_), "failed");
}

TEST_F(WebhookDeliveries, EachKeySignsWithItsOwnSecretAndTheInstanceHasOne) {
    const CreatedKey alice = create_api_key(*db_, "alice", {"submit"}, "", "test", t0_);
    const CreatedKey bob = create_api_key(*db_, "bob", {"submit"}, "", "test", t0_);
    EXPECT_EQ(alice.webhook_secret.rfind("whsec_", 0), 0u);
    EXPECT_EQ(alice.webhook_secret.size(), 6u + 64u);
    EXPECT_NE(alice.webhook_secret, bob.webhook_secret);
    EXPECT_EQ(key_webhook_secret(*db_, alice.id), alice.webhook_secret);
    EXPECT_EQ(signing_secret(*db_, alice.id, t0_), alice.webhook_secret);
    const std::string instance = instance_webhook_secret(*db_, t0_);
    EXPECT_EQ(signing_secret(*db_, std::nullopt, t0_), instance);
    EXPECT_EQ(instance_webhook_secret(*db_, t0_), instance); // made once, then kept
    const std::string rotated = rotate_key_webhook_secret(*db_, alice.id);
    EXPECT_NE(rotated, alice.webhook_secret);
    EXPECT_EQ(key_webhook_secret(*db_, alice.id), rotated);
    EXPECT_NE(rotate_instance_webhook_secret(*db_, t0_), instance);
    EXPECT_FALSE(signing_secret(*db_, std::string("nosuchkey"), t0_));
    EXPECT_THROW(key_webhook_secret(*db_, "nosuchkey"), Error);
}

TEST_F(WebhookDeliveries, AKeyFromBeforeWebhooksGetsASecretWhenFirstAsked) {
    const CreatedKey old = create_api_key(*db_, "old", {"read"}, "", "test", t0_);
    {
        Query forget = db_->query("UPDATE api_keys SET webhook_secret = NULL WHERE id = ?");
        forget->bind(1, old.id);
        forget->exec();
    }
    const std::string made = key_webhook_secret(*db_, old.id);
    EXPECT_EQ(made.size(), 6u + 64u);
    EXPECT_EQ(key_webhook_secret(*db_, old.id), made);
}

TEST_F(WebhookDeliveries, TheCallbackUrlIsPartOfTheIdempotencyFingerprint) {
    TaskRequest request;
    request.task = "t";
    request.task_id = "same-id";
    request.callback_url = "https://hooks.example.com/a";
    insert_task(*db_, request, {}, t0_);
    EXPECT_TRUE(insert_task(*db_, request, {}, t0_).existing);
    request.callback_url = "https://hooks.example.com/b";
    EXPECT_THROW(insert_task(*db_, request, {}, t0_), Error);
    // Without a callback the fingerprint is what it was before webhooks, so old retries match.
    TaskRequest plain;
    plain.task = "t";
    const std::string before = request_fingerprint(plain);
    EXPECT_EQ(before.size(), 64u);
    plain.callback_url = "https://hooks.example.com/a";
    EXPECT_NE(request_fingerprint(plain), before);
}

} // namespace
} // namespace tr
