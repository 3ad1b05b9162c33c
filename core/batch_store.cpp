// Batches: validation, insertion, aggregate status.
#include "core/batch_store.h"

#include "core/error.h"
#include "core/random.h"
#include "core/webhook_deliveries.h"

#include <SQLiteCpp/Transaction.h>

#include <cmath>

namespace tr {
namespace {

[[noreturn]] void invalid(const std::string &message) {
    throw Error(ErrorCode::InvalidRequest, message);
}

// Seconds to whole milliseconds, as the statistics show them.
double rounded_to_milliseconds(double seconds) {
    return std::round(seconds * 1000) / 1000;
}

// The earlier batch that `batch` repeats exactly, if there is one (see insert_batch). Reads
// inside the caller's IMMEDIATE transaction, so no writer can slip between this and the insert.
std::optional<SubmittedBatch> same_batch_again(Db &db, const BatchRequest &batch,
                                               const std::string &owner) {
    SubmittedBatch found;
    found.existing = true;
    Query task = db.query("SELECT coalesce(batch_id, ''), batch_seq, request_hash, "
                          "coalesce(owner, ''), status, created_at FROM tasks WHERE id = ?");
    for (std::size_t i = 0; i < batch.tasks.size(); ++i) {
        if (!batch.tasks[i].task_id)
            return std::nullopt;
        task->reset();
        task->bind(1, *batch.tasks[i].task_id);
        if (!task->executeStep())
            return std::nullopt;
        const std::string batch_id = task->getColumn(0).getString();
        if (batch_id.empty() || (i > 0 && batch_id != found.id) ||
            task->getColumn(1).getInt() != static_cast<int>(i) + 1 ||
            task->getColumn(2).getString() != request_fingerprint(batch.tasks[i]) ||
            task->getColumn(3).getString() != owner)
            return std::nullopt;
        found.id = batch_id;
        found.tasks.push_back({*batch.tasks[i].task_id, task->getColumn(5).getString(),
                               task->getColumn(4).getString(), true});
    }
    Query head = db.query("SELECT mode, continue_on_error, coalesce(owner, ''), task_count, "
                          "created_at, callback_url FROM batches WHERE id = ?");
    head->bind(1, found.id);
    if (!head->executeStep() ||
        head->getColumn(0).getString() != (batch.sequential ? "sequential" : "parallel") ||
        (head->getColumn(1).getInt() != 0) != batch.continue_on_error ||
        head->getColumn(2).getString() != owner ||
        head->getColumn(3).getInt() != static_cast<int>(batch.tasks.size()) ||
        optional_text(head->getColumn(5)) != batch.callback_url)
        return std::nullopt;
    found.created_at = head->getColumn(4).getString();
    return found;
}

} // namespace

BatchRequest parse_batch_request(const json_t *body, const Config &config, std::string_view owner) {
    if (!json_is_object(body))
        invalid(std::string("the request body must be a JSON object (got ") + json_type_name(body) +
                ")");
    const char *key;
    json_t *value;
    json_object_foreach(const_cast<json_t *>(body), key, value) {
        const std::string name = key;
        if (name != "tasks" && name != "mode" && name != "continue_on_error" &&
            name != "callback_url")
            invalid("unknown field \"" + name.substr(0, 80) +
                    "\" (a batch accepts tasks, mode, continue_on_error, callback_url)");
    }
    BatchRequest batch;
    batch.callback_url = parse_callback_field(body, config);
    const json_t *tasks = json_object_get(body, "tasks");
    if (!json_is_array(tasks) || json_array_size(tasks) == 0)
        invalid("tasks must be a non-empty array of task requests, such as [{\"task\": \"list the "
                "files in .\"}]");
    if (json_array_size(tasks) > max_batch_tasks)
        invalid("a batch holds at most " + std::to_string(max_batch_tasks) + " tasks (got " +
                std::to_string(json_array_size(tasks)) + ")");
    if (const json_t *mode = json_object_get(body, "mode")) {
        const std::string text = json_is_string(mode) ? json_string_value(mode) : "";
        if (text != "parallel" && text != "sequential")
            invalid(
                "mode must be parallel or sequential" +
                (json_is_string(mode) ? " (got \"" + text.substr(0, 40) + "\")" : std::string()));
        batch.sequential = text == "sequential";
    }
    if (const json_t *flag = json_object_get(body, "continue_on_error")) {
        if (!json_is_boolean(flag))
            invalid(std::string("continue_on_error must be a boolean (got ") +
                    json_type_name(flag) + ")");
        batch.continue_on_error = json_is_true(flag);
    }
    std::size_t index;
    json_t *item;
    json_array_foreach(tasks, index, item) {
        try {
            batch.tasks.push_back(parse_task_request(item, config, owner));
        } catch (const Error &e) {
            invalid("tasks[" + std::to_string(index) + "]: " + e.what());
        }
        for (std::size_t earlier = 0; earlier + 1 < batch.tasks.size(); ++earlier)
            if (batch.tasks.back().task_id &&
                batch.tasks[earlier].task_id == batch.tasks.back().task_id)
                invalid("tasks[" + std::to_string(index) + "]: task_id \"" +
                        *batch.tasks.back().task_id + "\" is given twice in this batch");
    }
    return batch;
}

SubmittedBatch insert_batch(Db &db, const BatchRequest &batch, const std::string &owner,
                            TimePoint now, const std::string &key_id) {
    SQLite::Transaction transaction(db.handle(), SQLite::TransactionBehavior::IMMEDIATE);
    if (std::optional<SubmittedBatch> earlier = same_batch_again(db, batch, owner))
        return *std::move(earlier); // read only: the rollback writes nothing
    SubmittedBatch submitted{new_uuid(), format_utc(now), {}};
    {
        Query insert = db.query(
            "INSERT INTO batches (id, mode, continue_on_error, owner, task_count, created_at, "
            "callback_url, submitted_by_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
        insert->bind(1, submitted.id);
        insert->bind(2, batch.sequential ? "sequential" : "parallel");
        insert->bind(3, batch.continue_on_error ? 1 : 0);
        if (!owner.empty())
            insert->bind(4, owner);
        insert->bind(5, static_cast<int>(batch.tasks.size()));
        insert->bind(6, submitted.created_at);
        if (batch.callback_url)
            insert->bind(7, *batch.callback_url);
        if (!key_id.empty())
            insert->bind(8, key_id);
        insert->exec();
    }
    for (std::size_t i = 0; i < batch.tasks.size(); ++i) {
        try {
            submitted.tasks.push_back(insert_task(
                db, batch.tasks[i], {owner, submitted.id, static_cast<int>(i) + 1, key_id}, now));
        } catch (const Error &e) {
            throw Error(e.code(), "tasks[" + std::to_string(i) + "]: " + e.what(), e.retry_after());
        }
    }
    transaction.commit();
    return submitted;
}

std::optional<JsonPtr> load_batch(Db &db, const std::string &id,
                                  const std::optional<std::string> &owner) {
    const ReadSnapshot snapshot(db);
    JsonPtr batch;
    std::optional<std::string> callback_url;
    {
        Query select = db.query("SELECT mode, continue_on_error, coalesce(owner, ''), created_at, "
                                "callback_url FROM batches WHERE id = ?");
        select->bind(1, id);
        if (!select->executeStep() || (owner && select->getColumn(2).getString() != *owner))
            return std::nullopt;
        batch.reset(json_pack("{s:s,s:s,s:b,s:s}", "batch_id", id.c_str(), "mode",
                              select->getColumn(0).getString().c_str(), "continue_on_error",
                              select->getColumn(1).getInt() != 0, "created_at",
                              select->getColumn(3).getString().c_str()));
        callback_url = optional_text(select->getColumn(4));
    }
    JsonPtr tasks(json_array());
    int total = 0, queued = 0, running = 0, completed = 0, failed = 0, cancelled = 0, timed = 0;
    double total_seconds = 0;
    Query select =
        db.query("SELECT id, status, (julianday(finished_at) - julianday(started_at)) * 86400 "
                 "FROM tasks WHERE batch_id = ? ORDER BY batch_seq");
    select->bind(1, id);
    while (select->executeStep()) {
        const std::string status = select->getColumn(1).getString();
        ++total;
        queued += status == "queued";
        running += status == "running";
        completed += status == "completed";
        failed += status == "failed" || status == "timeout";
        cancelled += status == "cancelled";
        if (!select->getColumn(2).isNull()) {
            total_seconds += select->getColumn(2).getDouble();
            ++timed;
        }
        json_array_append_new(tasks.get(), json_pack("{s:s,s:s}", "task_id",
                                                     select->getColumn(0).getString().c_str(),
                                                     "status", status.c_str()));
    }
    const char *status = queued == total             ? "queued"
                         : running > 0 || queued > 0 ? "running"
                         : completed == total        ? "completed"
                         : cancelled == total        ? "cancelled"
                                                     : "failed";
    total_seconds = rounded_to_milliseconds(total_seconds);
    json_object_set_new(batch.get(), "status", json_string(status));
    json_object_set_new(batch.get(), "tasks", tasks.release());
    json_object_set_new(batch.get(), "statistics",
                        json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:f,s:f}", "total_tasks", total,
                                  "completed_tasks", completed, "failed_tasks", failed,
                                  "cancelled_tasks", cancelled, "running_tasks", running,
                                  "queued_tasks", queued, "total_execution_time", total_seconds,
                                  "average_execution_time",
                                  timed ? rounded_to_milliseconds(total_seconds / timed) : 0.0));
    json_object_set_new(batch.get(), "callback_url",
                        callback_url ? json_text(*callback_url) : json_null());
    json_object_set_new(batch.get(), "callback", batch_callback_json(db, id, callback_url));
    return batch;
}

} // namespace tr
