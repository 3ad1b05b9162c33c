// Step and result writes.
#include "runner/recorder.h"

#include "core/time.h"

namespace tr::runner {

TaskRecorder::TaskRecorder(Db &db, std::string task_id, std::string runner_id, int attempt)
    : db_(db), task_id_(std::move(task_id)), runner_id_(std::move(runner_id)), attempt_(attempt) {
    Query last = db_.query("SELECT coalesce(max(step_number), 0) FROM steps WHERE task_id = ?");
    last->bind(1, task_id_);
    last->executeStep();
    next_step_ = last->getColumn(0).getInt() + 1;
}

int TaskRecorder::begin_step(StepType type, const std::string &description, const std::string &tool,
                             const json_t *input) {
    const int number = next_step_++;
    Query insert = db_.query(
        "INSERT INTO steps (task_id, step_number, attempt, step_type, description, tool, input, "
        "status, timestamp) VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?)");
    insert->bind(1, task_id_);
    insert->bind(2, number);
    insert->bind(3, attempt_);
    insert->bind(4, to_string(type));
    insert->bind(5, to_valid_utf8(description));
    if (!tool.empty())
        insert->bind(6, tool);
    if (input)
        insert->bind(7, dump_json(input));
    insert->bind(8, format_utc(Clock::now()));
    insert->exec();
    return number;
}

void TaskRecorder::end_step(int step_number, const StepEnd &end) {
    Query update = db_.query(
        "UPDATE steps SET status = ?, output = ?, error = ?, tokens_input = ?, tokens_output = ?, "
        "execution_time_ms = ?, finished_at = ? WHERE task_id = ? AND step_number = ?");
    update->bind(1, to_string(end.status));
    update->bind(2, to_valid_utf8(end.output));
    if (!end.error.empty())
        update->bind(3, to_valid_utf8(end.error));
    if (end.tokens) {
        update->bind(4, static_cast<int64_t>(end.tokens->input));
        update->bind(5, static_cast<int64_t>(end.tokens->output));
    }
    update->bind(6, static_cast<int64_t>(end.execution_time_ms));
    update->bind(7, format_utc(Clock::now()));
    update->bind(8, task_id_);
    update->bind(9, step_number);
    update->exec();
}

void TaskRecorder::record_plan(const json_t *plan) {
    Query update = db_.query("UPDATE tasks SET plan = ? WHERE id = ?");
    update->bind(1, dump_json(plan));
    update->bind(2, task_id_);
    update->exec();
}

void TaskRecorder::record_model(const std::string &provider, const std::string &model) {
    Query update = db_.query("UPDATE tasks SET provider = ?, model = ? WHERE id = ?");
    update->bind(1, provider);
    update->bind(2, model);
    update->bind(3, task_id_);
    update->exec();
}

bool TaskRecorder::finish(const TaskEnd &end) {
    Query update = db_.query(
        "UPDATE tasks SET status = ?, result = ?, error_code = ?, error_message = ?, metrics = ?, "
        "finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), lease_expires_at = NULL "
        "WHERE id = ? AND runner_id = ? AND status = 'running'");
    update->bind(1, to_string(end.status));
    if (end.result)
        update->bind(2, dump_json(end.result.get()));
    if (!end.error_code.empty()) {
        update->bind(3, end.error_code);
        update->bind(4, to_valid_utf8(end.error_message));
    }
    if (end.metrics)
        update->bind(5, dump_json(end.metrics.get()));
    update->bind(6, task_id_);
    update->bind(7, runner_id_);
    return update->exec() == 1;
}

} // namespace tr::runner
