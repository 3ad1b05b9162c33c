// Writes a running task's progress to SQLite as it happens: each step when it starts and when
// it ends, the plan when it is made, and the final status, result, error and metrics. The
// writes go through the runner's group committer, so the writes of all its workers share
// transactions, and the runner takes SQLite's one write lock once per group, not once per write.
//
// A step's start is committed before the step acts (its command runs, its model is called), so
// a crash never hides an effect, and the attempt learns before acting whether it still holds its
// task; the task's end, too, returns only once stored. The writes in between — a step's end, the
// plan, the model — are handed over without waiting: the committer keeps each worker's writes
// in order, so they are stored before the next start or end is. A client polling the task sees
// each of them within one commit.
//
// Every write is fenced by the attempt: it names the task, the attempt this runner claimed and
// the runner, and changes nothing unless the task is still running under exactly that claim.
// A write that finds its fence gone makes the next call throw LeaseLost: the task was recovered
// (this runner stalled past its lease) and another attempt owns it now, so this one must stop and
// write nothing more. The fence is claim.h's attempt_fence, the same one the lease's writes use.
// A write the database refuses (a full disk) breaks the record: the next call throws its
// SQLite::Exception, and the attempt ends unrecorded, for recovery to run again once writes pass.
#pragma once

#include "core/db.h"
#include "core/group_commit.h"
#include "core/json.h"
#include "core/task.h"
#include "runner/claim.h"

#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
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

    // Numbers new steps after `last_step`, the last one an earlier attempt of the same task left
    // (read from the database when not given). `reads` is the worker's own connection; the
    // writes go through `writes`.
    TaskRecorder(Db &reads, GroupCommitter &writes, AttemptClaim claim,
                 std::optional<int> last_step = std::nullopt);

    // Inserts a step in status running, and returns once that is committed. Throws LeaseLost.
    Step begin_step(StepType type, const std::string &description, const std::string &tool,
                    const json_t *input);

    void record_plan(const json_t *plan);                                     // throws LeaseLost
    void record_model(const std::string &provider, const std::string &model); // throws LeaseLost

    // Writes the final state under the fence, and returns once it is committed; false when the
    // lease was lost, so nothing is overwritten. finished_at (like the claim's started_at) is
    // taken inside the write, so the times follow the order in which writes happened. Throws
    // SQLite::Exception when the write itself fails, or an earlier one did (then broken()).
    bool finish(const TaskEnd &end);

    // The tool calls of the task's earlier attempts, in order.
    std::vector<EarlierCall> earlier_calls();

    const AttemptClaim &claim() const noexcept { return claim_; }
    // True once a write found the fence gone; every later write throws LeaseLost at once.
    bool lease_lost() const noexcept { return trail_->lease_lost; }
    // True once a write failed in the database: nothing more of this attempt can be recorded in
    // order, so nothing more is.
    bool broken() const;

private:
    // What the committer tells the attempt about its writes, also after the recorder is gone.
    struct Trail {
        std::atomic<bool> lease_lost{false};
        mutable std::mutex mutex;
        std::exception_ptr failure; // the first write the database refused
    };
    // A fenced write of this attempt: `statement` runs on the committer's connection with the
    // claim bound, unless the lease is already known to be lost; fewer than one row changed means
    // the fence is gone.
    using FencedWrite = std::function<int(Db &)>;

    void end_step(int step_number, const StepEnd &end);
    // Throws LeaseLost when the lease is gone, the refused write when the record is broken.
    void check_record() const;
    void write_now(const FencedWrite &write, const char *what);
    void write_behind(FencedWrite write);
    // Runs a fenced write on the committer's connection, and learns from it whether the lease
    // is gone; the first refusal is counted (for /metrics). A write `behind` that fails breaks
    // the record.
    static void run_fenced(Db &db, Trail &trail, const FencedWrite &write, bool behind);
    [[noreturn]] void lost(const char *write) const;

    Db &reads_;
    GroupCommitter &writes_;
    AttemptClaim claim_;
    int next_step_;
    std::shared_ptr<Trail> trail_ = std::make_shared<Trail>();
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
