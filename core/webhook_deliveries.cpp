// Claiming, recording and showing webhook deliveries.
#include "core/webhook_deliveries.h"

#include "core/digest.h"

#include <SQLiteCpp/Transaction.h>

#include <algorithm>

namespace tr {
namespace {

constexpr const char *latest_delivery_sql_by_task =
    "SELECT id, state FROM webhook_deliveries WHERE task_id = ? ORDER BY created_at DESC, rowid "
    "DESC LIMIT 1";
constexpr const char *latest_delivery_sql_by_batch =
    "SELECT id, state FROM webhook_deliveries WHERE batch_id = ? ORDER BY created_at DESC, rowid "
    "DESC LIMIT 1";

json_t *callback_json(Db &db, const char *latest_sql, const std::string &owner_id,
                      const std::optional<std::string> &callback_url) {
    if (!callback_url)
        return json_null();
    std::string state = "pending";
    std::optional<std::string> delivery_id;
    {
        Query latest = db.query(latest_sql);
        latest->bind(1, owner_id);
        if (latest->executeStep()) {
            delivery_id = latest->getColumn(0).getString();
            state = latest->getColumn(1).getString();
        }
    }
    JsonPtr attempts(json_array());
    if (delivery_id) {
        Query select = db.query("SELECT attempt, at, http_status, error, duration_ms FROM "
                                "webhook_attempts WHERE delivery_id = ? ORDER BY attempt");
        select->bind(1, *delivery_id);
        while (select->executeStep()) {
            const SQLite::Column status = select->getColumn(2);
            json_array_append_new(
                attempts.get(),
                json_pack("{s:I,s:o,s:o,s:o,s:I}", "attempt",
                          static_cast<json_int_t>(select->getColumn(0).getInt64()), "at",
                          text_or_null(select->getColumn(1)), "http_status",
                          status.isNull() ? json_null() : json_integer(status.getInt64()), "error",
                          text_or_null(select->getColumn(3)), "duration_ms",
                          static_cast<json_int_t>(select->getColumn(4).getInt64())));
        }
    }
    return json_pack("{s:o,s:s,s:o}", "url", json_text(*callback_url), "state", state.c_str(),
                     "attempts", attempts.release());
}

} // namespace

std::string webhook_signature(const std::string &secret, std::int64_t unix_seconds,
                              const std::string &body) {
    const std::string t = std::to_string(unix_seconds);
    return "t=" + t + ",v1=" + hmac_sha256_hex(secret, t + "." + body);
}

std::chrono::milliseconds webhook_retry_delay(int failed_attempts, const WebhooksConfig &config) {
    const long long cap = static_cast<long long>(config.max_retry_delay_seconds) * 1000;
    long long delay = config.first_retry_delay_ms;
    for (int i = 1; i < failed_attempts && delay < cap; ++i)
        delay *= 2;
    return std::chrono::milliseconds(std::min(delay, cap));
}

json_t *task_callback_json(Db &db, const std::string &task_id,
                           const std::optional<std::string> &callback_url) {
    return callback_json(db, latest_delivery_sql_by_task, task_id, callback_url);
}

json_t *batch_callback_json(Db &db, const std::string &batch_id,
                            const std::optional<std::string> &callback_url) {
    return callback_json(db, latest_delivery_sql_by_batch, batch_id, callback_url);
}

std::optional<ClaimedDelivery> claim_due_delivery(Db &db, const std::string &runner, TimePoint now,
                                                  TimePoint lease_until) {
    SQLite::Transaction transaction(db.handle(), SQLite::TransactionBehavior::IMMEDIATE);
    ClaimedDelivery delivery;
    {
        Query due = db.query(
            "SELECT d.id, coalesce(d.task_id, ''), coalesce(d.batch_id, ''), d.url, d.key_id, "
            "d.body, d.created_at, (SELECT count(*) FROM webhook_attempts a "
            "WHERE a.delivery_id = d.id) FROM webhook_deliveries d "
            "WHERE d.state IN ('pending', 'delivering') AND d.next_attempt_at <= ?1 "
            "AND (d.lease_expires_at IS NULL OR d.lease_expires_at <= ?1) "
            "ORDER BY d.next_attempt_at LIMIT 1");
        due->bind(1, format_utc(now));
        if (!due->executeStep())
            return std::nullopt; // nothing written: the rollback is free
        delivery.id = due->getColumn(0).getString();
        delivery.task_id = due->getColumn(1).getString();
        delivery.batch_id = due->getColumn(2).getString();
        delivery.url = due->getColumn(3).getString();
        delivery.key_id = optional_text(due->getColumn(4));
        delivery.body = optional_text(due->getColumn(5));
        delivery.created_at = parse_utc(due->getColumn(6).getString()).value_or(now);
        delivery.attempts = due->getColumn(7).getInt();
    }
    Query lease = db.query("UPDATE webhook_deliveries SET state = 'delivering', lease_owner = ?, "
                           "lease_expires_at = ? WHERE id = ?");
    lease->bind(1, runner);
    lease->bind(2, format_utc(lease_until));
    lease->bind(3, delivery.id);
    lease->exec();
    transaction.commit();
    return delivery;
}

void fix_delivery_body(Db &db, const std::string &delivery_id, const std::string &body) {
    Query set = db.query("UPDATE webhook_deliveries SET body = ? WHERE id = ? AND body IS NULL");
    set->bind(1, body);
    set->bind(2, delivery_id);
    set->exec();
}

std::string record_delivery_attempt(Db &db, const ClaimedDelivery &delivery,
                                    const std::string &runner, const DeliveryAttempt &attempt,
                                    const WebhooksConfig &config) {
    const int number = delivery.attempts + 1;
    const TimePoint next = attempt.at + webhook_retry_delay(number, config);
    const TimePoint give_up = delivery.created_at + std::chrono::seconds(config.retry_for_seconds);
    std::string state = !attempt.error       ? "delivered"
                        : !attempt.retryable ? "failed"
                        : next > give_up     ? "failed"
                                             : "pending";
    SQLite::Transaction transaction(db.handle(), SQLite::TransactionBehavior::IMMEDIATE);
    {
        Query update = db.query(
            "UPDATE webhook_deliveries SET state = ?, next_attempt_at = ?, lease_owner = NULL, "
            "lease_expires_at = NULL WHERE id = ? AND lease_owner = ?");
        update->bind(1, state);
        update->bind(2, format_utc(next));
        update->bind(3, delivery.id);
        update->bind(4, runner);
        if (update->exec() != 1)
            return "lost"; // another runner holds it now and records its own attempt
    }
    Query insert = db.query("INSERT INTO webhook_attempts (delivery_id, attempt, at, http_status, "
                            "error, duration_ms) VALUES (?, ?, ?, ?, ?, ?)");
    insert->bind(1, delivery.id);
    insert->bind(2, number);
    insert->bind(3, format_utc(attempt.at));
    if (attempt.http_status)
        insert->bind(4, static_cast<std::int64_t>(*attempt.http_status));
    if (attempt.error)
        insert->bind(5, *attempt.error);
    insert->bind(6, static_cast<std::int64_t>(attempt.duration_ms));
    insert->exec();
    transaction.commit();
    return state;
}

std::optional<long long> next_delivery_due_in_ms(Db &db, TimePoint now) {
    Query next = db.query("SELECT min(max(next_attempt_at, coalesce(lease_expires_at, ''))) FROM "
                          "webhook_deliveries WHERE state IN ('pending', 'delivering')");
    if (!next->executeStep() || next->getColumn(0).isNull())
        return std::nullopt;
    const std::optional<TimePoint> due = parse_utc(next->getColumn(0).getString());
    if (!due)
        return 0;
    return std::max<long long>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(*due - now).count());
}

} // namespace tr
