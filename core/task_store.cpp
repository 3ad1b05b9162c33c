// Inserting submissions and reading tasks as JSON.
#include "core/task_store.h"

#include "core/digest.h"
#include "core/random.h"
#include "core/webhook_deliveries.h"

#include <SQLiteCpp/Transaction.h>

#include <cstdlib>
#include <memory>

namespace tr {
namespace {

constexpr const char *insert_sql =
    "INSERT INTO tasks (id, task, context, priority, metadata, created_at, request_hash, owner, "
    "batch_id, batch_seq, callback_url, submitted_by_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
    "?)";

constexpr const char *select_task_sql =
    "SELECT id, status, task, priority, metadata, batch_id, plan, result, metrics, error_code, "
    "error_message, attempts, provider, model, created_at, started_at, finished_at, callback_url "
    "FROM tasks WHERE id = ?";

constexpr const char *select_steps_sql =
    "SELECT step_number, step_type, description, tool, input, output, status, error, "
    "execution_time_ms, tokens_input, tokens_output, timestamp, attempt "
    "FROM steps WHERE task_id = ? ORDER BY step_number, attempt";

json_t *int_or_null(const SQLite::Column &column) {
    return column.isNull() ? json_null() : json_integer(column.getInt64());
}

json_t *stored_json(const SQLite::Column &column) {
    return json_from_column(optional_text(column));
}

JsonPtr read_step(SQLite::Statement &row) {
    JsonPtr step(json_object());
    json_t *s = step.get();
    json_object_set_new(s, "step_number", json_integer(row.getColumn(0).getInt64()));
    json_object_set_new(s, "step_type", text_or_null(row.getColumn(1)));
    json_object_set_new(s, "description", text_or_null(row.getColumn(2)));
    json_object_set_new(s, "tool", text_or_null(row.getColumn(3)));
    json_object_set_new(s, "input", stored_json(row.getColumn(4)));
    json_object_set_new(s, "output", text_or_null(row.getColumn(5)));
    json_object_set_new(s, "status", text_or_null(row.getColumn(6)));
    json_object_set_new(s, "error", text_or_null(row.getColumn(7)));
    json_object_set_new(s, "execution_time_ms", int_or_null(row.getColumn(8)));
    if (row.getColumn(9).isNull() && row.getColumn(10).isNull()) {
        json_object_set_new(s, "tokens", json_null());
    } else {
        json_object_set_new(s, "tokens",
                            json_pack("{s:o,s:o}", "input", int_or_null(row.getColumn(9)), "output",
                                      int_or_null(row.getColumn(10))));
    }
    json_object_set_new(s, "timestamp", text_or_null(row.getColumn(11)));
    json_object_set_new(s, "attempt", json_integer(row.getColumn(12).getInt64()));
    return step;
}

} // namespace

std::string request_fingerprint(const TaskRequest &request) {
    JsonPtr canonical(json_pack("{s:s%,s:s,s:O,s:O}", "task", request.task.data(),
                                request.task.size(), "priority", to_string(request.priority),
                                "metadata", request.metadata ? request.metadata.get() : json_null(),
                                "context", request.context ? request.context.get() : json_null()));
    // Only when set: the fingerprints of requests without one stay what they were before
    // callbacks existed, so retries of those still match.
    if (request.callback_url)
        json_object_set_new(canonical.get(), "callback_url", json_text(*request.callback_url));
    std::unique_ptr<char, void (*)(void *)> text(
        json_dumps(canonical.get(), JSON_COMPACT | JSON_SORT_KEYS), std::free);
    return sha256_hex(text ? text.get() : "");
}

std::optional<TaskHead> task_head(Db &db, const std::string &id) {
    Query select = db.query("SELECT status, coalesce(owner, '') FROM tasks WHERE id = ?");
    select->bind(1, id);
    if (!select->executeStep())
        return std::nullopt;
    return TaskHead{select->getColumn(0).getString(), select->getColumn(1).getString()};
}

SubmittedTask insert_task(Db &db, const TaskRequest &request, const TaskPlacement &placement,
                          TimePoint now) {
    // Time-ordered: tasks' primary key index grows at its end (see new_time_ordered_uuid).
    const auto unix_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    SubmittedTask submitted{request.task_id
                                ? *request.task_id
                                : new_time_ordered_uuid(static_cast<std::uint64_t>(unix_ms)),
                            format_utc(now), "queued"};
    const std::string fingerprint = request_fingerprint(request);
    const std::string context = request.context ? dump_json(request.context.get()) : "";
    const std::string metadata = request.metadata ? dump_json(request.metadata.get()) : "";
    try {
        Query insert = db.query(insert_sql);
        insert->bind(1, submitted.id);
        insert->bind(2, request.task);
        if (request.context)
            insert->bind(3, context);
        insert->bind(4, to_string(request.priority));
        if (request.metadata)
            insert->bind(5, metadata);
        insert->bind(6, submitted.created_at);
        insert->bind(7, fingerprint);
        if (!placement.owner.empty())
            insert->bind(8, placement.owner);
        if (!placement.batch_id.empty()) {
            insert->bind(9, placement.batch_id);
            insert->bind(10, placement.batch_seq);
        }
        if (request.callback_url)
            insert->bind(11, *request.callback_url);
        if (!placement.key_id.empty())
            insert->bind(12, placement.key_id);
        insert->exec();
        return submitted;
    } catch (const SQLite::Exception &e) {
        Error error = database_error(e);
        if (error.code() != ErrorCode::Conflict)
            throw error;
    }
    // The id is taken. The same request from the same owner is a retry: answer with that task.
    Query existing = db.query(
        "SELECT request_hash, coalesce(owner, ''), status, created_at FROM tasks WHERE id = ?");
    existing->bind(1, submitted.id);
    if (existing->executeStep() && existing->getColumn(0).getString() == fingerprint &&
        existing->getColumn(1).getString() == placement.owner && placement.batch_id.empty()) {
        submitted.status = existing->getColumn(2).getString();
        submitted.created_at = existing->getColumn(3).getString();
        submitted.existing = true;
        return submitted;
    }
    throw Error(ErrorCode::Conflict, "task_id \"" + submitted.id +
                                         "\" is already used by a different request; "
                                         "send the same request again, or use another id");
}

CancelOutcome cancel_task(Db &db, const std::string &id, TimePoint now) {
    SQLite::Transaction transaction(db.handle(), SQLite::TransactionBehavior::IMMEDIATE);
    std::string status;
    {
        Query select = db.query("SELECT status FROM tasks WHERE id = ?");
        select->bind(1, id);
        if (!select->executeStep())
            return CancelOutcome::NotFound;
        status = select->getColumn(0).getString();
    }
    CancelOutcome outcome;
    if (status == "queued") {
        Query cancel = db.query(
            "UPDATE tasks SET status = 'cancelled', finished_at = ?, cancel_requested_at = ?, "
            "error_code = 'CANCELLED', error_message = 'cancelled before it started' WHERE id = ?");
        cancel->bind(1, format_utc(now));
        cancel->bind(2, format_utc(now));
        cancel->bind(3, id);
        cancel->exec();
        outcome = CancelOutcome::Cancelled;
    } else if (status == "running") {
        Query request =
            db.query("UPDATE tasks SET cancel_requested_at = coalesce(cancel_requested_at, ?) "
                     "WHERE id = ?");
        request->bind(1, format_utc(now));
        request->bind(2, id);
        request->exec();
        outcome = CancelOutcome::Requested;
    } else {
        return CancelOutcome::Finished;
    }
    transaction.commit();
    return outcome;
}

std::optional<JsonPtr> load_task(Db &db, const std::string &id) {
    const ReadSnapshot snapshot(db); // the task row and its steps from the same moment
    Query select = db.query(select_task_sql);
    select->bind(1, id);
    if (!select->executeStep())
        return std::nullopt;

    JsonPtr task(json_object());
    json_t *t = task.get();
    SQLite::Statement &row = *select;
    json_object_set_new(t, "task_id", text_or_null(row.getColumn(0)));
    json_object_set_new(t, "status", text_or_null(row.getColumn(1)));
    json_object_set_new(t, "task", text_or_null(row.getColumn(2)));
    json_object_set_new(t, "priority", text_or_null(row.getColumn(3)));
    json_object_set_new(t, "metadata", stored_json(row.getColumn(4)));
    json_object_set_new(t, "batch_id", text_or_null(row.getColumn(5)));
    json_object_set_new(t, "plan", stored_json(row.getColumn(6)));
    json_object_set_new(t, "result", stored_json(row.getColumn(7)));
    json_object_set_new(t, "metrics", stored_json(row.getColumn(8)));
    if (row.getColumn(9).isNull()) {
        json_object_set_new(t, "error", json_null());
    } else {
        json_object_set_new(t, "error",
                            json_pack("{s:o,s:o}", "code", text_or_null(row.getColumn(9)),
                                      "message", text_or_null(row.getColumn(10))));
    }
    json_object_set_new(t, "attempts", json_integer(row.getColumn(11).getInt64()));
    json_object_set_new(t, "provider", text_or_null(row.getColumn(12)));
    json_object_set_new(t, "model", text_or_null(row.getColumn(13)));
    json_object_set_new(t, "created_at", text_or_null(row.getColumn(14)));
    json_object_set_new(t, "started_at", text_or_null(row.getColumn(15)));
    json_object_set_new(t, "completed_at", text_or_null(row.getColumn(16)));
    const std::optional<std::string> callback_url = optional_text(row.getColumn(17));
    json_object_set_new(t, "callback_url", text_or_null(row.getColumn(17)));
    select->reset(); // the callback's reads are statements of their own
    json_object_set_new(t, "callback", task_callback_json(db, id, callback_url));

    JsonPtr steps(json_array());
    Query select_steps = db.query(select_steps_sql);
    select_steps->bind(1, id);
    while (select_steps->executeStep())
        json_array_append_new(steps.get(), read_step(*select_steps).release());
    json_object_set_new(t, "steps", steps.release());
    return task;
}

} // namespace tr
