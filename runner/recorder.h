// Writes a running task's progress to SQLite as it happens: each step when it starts and when
// it ends, the plan when it is made, and the final status, result, error and metrics. Every
// write is one short autocommit statement, so a client polling the task sees each step.
#pragma once

#include "core/db.h"
#include "core/json.h"
#include "core/task.h"

#include <optional>
#include <string>

namespace tr::runner {

struct TokenUsage {
    long long input = 0;
    long long output = 0;
};

struct StepEnd {
    StepStatus status = StepStatus::Completed;
    std::string output;
    std::string error;
    std::optional<TokenUsage> tokens;
    long long execution_time_ms = 0;
};

struct TaskEnd {
    TaskStatus status = TaskStatus::Completed;
    JsonPtr result; // may be null
    std::string error_code;
    std::string error_message;
    JsonPtr metrics; // may be null
};

class TaskRecorder {
public:
    // Numbers new steps after any left by an earlier attempt of the same task.
    TaskRecorder(Db &db, std::string task_id, std::string runner_id, int attempt);

    // Inserts a step in status running; returns its number.
    int begin_step(StepType type, const std::string &description, const std::string &tool,
                   const json_t *input);
    void end_step(int step_number, const StepEnd &end);

    void record_plan(const json_t *plan);
    void record_model(const std::string &provider, const std::string &model);

    // Writes the final state, but only while this runner still holds the task: false when the
    // lease was lost (recovered by another runner after a stall), so nothing is overwritten.
    // finished_at (like the claim's started_at) is taken inside the write, so the times follow
    // the order in which writes happened.
    bool finish(const TaskEnd &end);

    const std::string &task_id() const noexcept { return task_id_; }

private:
    Db &db_;
    std::string task_id_;
    std::string runner_id_;
    int attempt_;
    int next_step_;
};

} // namespace tr::runner
