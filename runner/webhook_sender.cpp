// Claim, sign, send, record: the delivery loop.
#include "runner/webhook_sender.h"

#include "core/batch_store.h"
#include "core/db.h"
#include "core/task_store.h"
#include "core/webhook_deliveries.h"
#include "core/webhook_secrets.h"
#include "runner/webhook_post.h"

#include <algorithm>

namespace tr::runner {
namespace {

// How often an idle sender looks for due deliveries: a task's end is noticed this soon. One
// indexed read of a partial index, empty most of the time.
constexpr std::chrono::milliseconds idle_look_interval{200};
constexpr std::chrono::seconds after_database_error{1};
// A lease outlasts the longest attempt (curl's whole-transfer timeout) by this much, for the
// claim and the record around it; after a crash the delivery waits no longer than that.
constexpr std::chrono::seconds lease_margin{3};

// The body every attempt sends: the JSON GET answers for the task (or batch) as it ended, less
// its "callback" member, which describes this very delivery and changes with each attempt.
std::optional<std::string> final_json(Db &db, const ClaimedDelivery &delivery) {
    std::optional<JsonPtr> json = delivery.task_id.empty()
                                      ? load_batch(db, delivery.batch_id, std::nullopt)
                                      : load_task(db, delivery.task_id);
    if (!json)
        return std::nullopt;
    json_object_del(json->get(), "callback");
    return dump_json(json->get());
}

std::vector<std::string> delivery_headers(const ClaimedDelivery &delivery,
                                          const std::string &secret, const std::string &body) {
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count();
    return {"Content-Type: application/json",
            std::string(webhook_signature_header) + ": " + webhook_signature(secret, now, body),
            std::string(webhook_delivery_header) + ": " + delivery.id,
            std::string("Task-Runner-Event: ") +
                (delivery.task_id.empty() ? "batch.ended" : "task.ended")};
}

DeliveryAttempt not_sent(const std::string &why) {
    DeliveryAttempt attempt;
    attempt.at = Clock::now();
    attempt.error = why;
    attempt.retryable = false;
    return attempt;
}

} // namespace

WebhookSender::WebhookSender(const Config &config, const Log &log, std::string runner_id)
    : config_(config), log_(log), runner_id_(std::move(runner_id)),
      thread_(&WebhookSender::run, this) {}

WebhookSender::~WebhookSender() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
    }
    stopped_.notify_all();
    thread_.join();
}

void WebhookSender::pause(std::chrono::milliseconds longest) {
    std::unique_lock<std::mutex> lock(mutex_);
    stopped_.wait_for(lock, longest, [this] { return stop_.load(); });
}

bool WebhookSender::deliver_next(Db &db) {
    const TimePoint now = Clock::now();
    const std::optional<ClaimedDelivery> delivery = claim_due_delivery(
        db, runner_id_, now,
        now + std::chrono::seconds(config_.webhooks.timeout_seconds) + lease_margin);
    if (!delivery)
        return false;
    std::optional<std::string> body = delivery->body;
    if (!body && (body = final_json(db, *delivery)))
        fix_delivery_body(db, delivery->id, *body);
    const std::optional<std::string> secret = signing_secret(db, delivery->key_id, now);
    PostOutcome outcome;
    if (!body)
        outcome.attempt = not_sent("the task or batch no longer exists");
    else if (!secret)
        outcome.attempt = not_sent("the API key that submitted it no longer exists, so there is "
                                   "no secret to sign with");
    else
        outcome = post_webhook(delivery->url, *body, delivery_headers(*delivery, *secret, *body),
                               config_.webhooks, stop_);
    if (outcome.abandoned)
        return true;
    const std::string state =
        record_delivery_attempt(db, *delivery, runner_id_, outcome.attempt, config_.webhooks);
    // The URL stays out of the log: its query may carry the receiver's own token.
    log_.info("webhook.attempt",
              {{"delivery", delivery->id},
               {delivery->task_id.empty() ? "batch_id" : "task_id",
                delivery->task_id.empty() ? delivery->batch_id : delivery->task_id},
               {"attempt", delivery->attempts + 1},
               {"status", outcome.attempt.http_status.value_or(0)},
               {"error", outcome.attempt.error.value_or("")},
               {"duration_ms", outcome.attempt.duration_ms},
               {"state", state}});
    return true;
}

void WebhookSender::run() noexcept {
    std::optional<Db> db;
    while (!stop_) {
        try {
            if (!db)
                db.emplace(config_.storage);
            if (deliver_next(*db))
                continue;
            const std::optional<long long> due = next_delivery_due_in_ms(*db, Clock::now());
            pause(std::min(idle_look_interval,
                           std::chrono::milliseconds(due.value_or(idle_look_interval.count()))));
        } catch (const std::exception &e) {
            // The loop's boundary: a database that cannot be written just now, or a bug, must not
            // end the runner; the delivery's lease lapses and it is tried again.
            log_.warn("webhook.error", {{"error", e.what()}});
            pause(after_database_error);
        }
    }
}

} // namespace tr::runner
