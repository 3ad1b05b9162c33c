// Writes a running task's progress to SQLite as it happens: each step when it starts and when
// it ends, the plan when it is made, and the final status, result, error and metrics. Every
// write is one short autocommit statement, so a client polling the task sees each step.
//
// Every write is fenced by the attempt: it names the task, the attempt this runner claimed and
// the runner, and changes nothing unless the task is still running under exactly that claim.
// A write that finds its fence gone throws LeaseLost: the task was recovered (this runner
// stalled past its lease) and another attempt owns it now, so this one must stop and write
// nothing more. The fence is claim.h's attempt_fence, the same one the lease's writes use.
#pragma once

#include "core/db.h"
#include "core/json.h"
#include "core/task.h"
#include "runner/claim.h"

#include <chrono>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

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
    long long execution_time_ms = 0; // set by TaskRecorder::Step::end

    static StepEnd completed(std::string output, std::optional<TokenUsage> tokens = std::nullopt);
    static StepEnd failed(std::string error, std::string output = "");
};

struct TaskEnd {
    TaskStatus status = TaskStatus::Completed;
    JsonPtr result; // may be null
    std::string error_code;
    std::string error_message;
    JsonPtr metrics; // may be null
};

// This attempt no longer holds its task (see above).
class LeaseLost : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A tool call an earlier attempt of the task started, for telling the next attempt about it.
struct EarlierCall {
    int attempt = 0;
    std::string tool;
    std::string description; // "run_command: make install"
    std::string status;      // completed, failed, interrupted
};

class TaskRecorder {
public:
    class Step;

    // Numbers new steps after any left by an earlier attempt of the same task.
    TaskRecorder(Db &db, AttemptClaim claim);

    // Inserts a step in status running. Throws LeaseLost.
    Step begin_step(StepType type, const std::string &description, const std::string &tool,
                    const json_t *input);

    void record_plan(const json_t *plan);                                     // throws LeaseLost
    void record_model(const std::string &provider, const std::string &model); // throws LeaseLost

    // Writes the final state under the fence; false when the lease was lost, so nothing is
    // overwritten. finished_at (like the claim's started_at) is taken inside the write, so the
    // times follow the order in which writes happened. Throws SQLite::Exception when the write
    // itself fails.
    bool finish(const TaskEnd &end);

    // The tool calls of the task's earlier attempts, in order.
    std::vector<EarlierCall> earlier_calls();

    const AttemptClaim &claim() const noexcept { return claim_; }
    // True once a write found the fence gone; every later write throws LeaseLost at once.
    bool lease_lost() const noexcept { return lease_lost_; }

private:
    void end_step(int step_number, const StepEnd &end);
    void check_lease() const;
    // Counts a write refused by the fence (for /metrics); from then on the lease is lost.
    void count_fenced_write() noexcept;
    // count_fenced_write, then throws LeaseLost naming the write.
    [[noreturn]] void lost(const char *write);

    Db &db_;
    AttemptClaim claim_;
    int next_step_;
    bool lease_lost_ = false;
};

// An open step. One that is not ended by the time it goes (an exception passes) is ended as
// failed with its interruption's text, so no step stays "running" after its attempt; an end
// that the fence refuses is left to lease recovery, which marks it interrupted.
class TaskRecorder::Step {
public:
    Step(Step &&other) noexcept;
    Step &operator=(Step &&) = delete;
    Step(const Step &) = delete;
    Step &operator=(const Step &) = delete;
    ~Step();

    // Ends the step with its duration measured here. Throws LeaseLost.
    void end(StepEnd end);
    // What the step says, and is, when it is ended by its destructor.
    void set_interruption(std::string why, StepStatus status = StepStatus::Failed) {
        interruption_ = std::move(why);
        interruption_status_ = status;
    }

private:
    friend class TaskRecorder;
    Step(TaskRecorder &recorder, int number);

    TaskRecorder *recorder_;
    int number_;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    bool ended_ = false;
    std::string interruption_ = "interrupted";
    StepStatus interruption_status_ = StepStatus::Failed;
};

} // namespace tr::runner
