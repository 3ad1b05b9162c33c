// Webhook deliveries as stored (migration 0011): a trigger makes one when a task or batch with a
// callback_url ends; a runner claims a due one with a lease (as tasks are claimed, so two
// runners never send the same attempt at once and a dead runner's delivery is taken up again),
// sends it, and records the attempt. Also the callback object of the task and batch JSON, the
// signature header, and the retry schedule.
#pragma once

#include "core/config.h"
#include "core/db.h"
#include "core/json.h"
#include "core/time.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace tr {

inline constexpr const char *webhook_signature_header = "Task-Runner-Signature";
inline constexpr const char *webhook_delivery_header = "Task-Runner-Delivery";

// "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>", as Stripe signs its events.
std::string webhook_signature(const std::string &secret, std::int64_t unix_seconds,
                              const std::string &body);

// How long after the `failed_attempts`-th failure the next attempt waits: first_retry_delay_ms,
// doubling each time, at most max_retry_delay_seconds.
std::chrono::milliseconds webhook_retry_delay(int failed_attempts, const WebhooksConfig &config);

// The callback member of a task's or batch's JSON: null without a callback_url, else {"url",
// "state", "attempts": [...]} (state "pending" until it has ended and a delivery exists).
json_t *task_callback_json(Db &db, const std::string &task_id,
                           const std::optional<std::string> &callback_url);
json_t *batch_callback_json(Db &db, const std::string &batch_id,
                            const std::optional<std::string> &callback_url);

struct ClaimedDelivery {
    std::string id;
    std::string task_id; // one of task_id and batch_id is set
    std::string batch_id;
    std::string url;
    std::optional<std::string> key_id;
    std::optional<std::string> body; // fixed at the first attempt
    TimePoint created_at;
    int attempts = 0; // recorded before this one
};

// The earliest due delivery, leased to `runner` until `lease_until`; nullopt when none is due.
std::optional<ClaimedDelivery> claim_due_delivery(Db &db, const std::string &runner, TimePoint now,
                                                  TimePoint lease_until);

// Stores the body every attempt of the delivery sends.
void fix_delivery_body(Db &db, const std::string &delivery_id, const std::string &body);

struct DeliveryAttempt {
    TimePoint at;
    std::optional<long> http_status;
    std::optional<std::string> error; // nullopt for a 2xx
    long long duration_ms = 0;
    bool retryable = true; // false: a refused address or URL, never sent again
};

// Records the attempt and the delivery's next state: delivered (2xx), pending again after the
// retry delay, or failed (not retryable, or the delay would pass webhooks.retry_for_seconds).
// Returns that state. Only the lease holder writes; a lease lost meanwhile writes nothing.
std::string record_delivery_attempt(Db &db, const ClaimedDelivery &delivery,
                                    const std::string &runner, const DeliveryAttempt &attempt,
                                    const WebhooksConfig &config);

// Milliseconds until the next delivery is due (0: one is due now); nullopt when none waits.
std::optional<long long> next_delivery_due_in_ms(Db &db, TimePoint now);

} // namespace tr
