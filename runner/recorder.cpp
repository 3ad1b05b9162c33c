// Step and result writes, each fenced by the attempt (claim.h's attempt_fence).
#include "runner/recorder.h"

#include "core/time.h"

namespace tr::runner {
namespace {

const std::string fence_exists =
    std::string("EXISTS (SELECT 1 FROM tasks WHERE ") + attempt_fence + ")";

bool holds_fence(Db &db, const AttemptClaim &claim) {
    Query fence = db.query("SELECT " + fence_exists);
    bind_claim(*fence, claim);
    return fence->executeStep() && fence->getColumn(0).getInt() == 1;
}

} // namespace

StepEnd StepEnd::completed(std::string output, std::optional<TokenUsage> tokens) {
    StepEnd end;
    end.status = StepStatus::Completed;
    end.output = std::move(output);
    end.tokens = tokens;
    return end;
}

StepEnd StepEnd::failed(std::string error, std::string output) {
    StepEnd end;
    end.status = StepStatus::Failed;
    end.error = std::move(error);
    end.output = std::move(output);
    return end;
}

TaskRecorder::TaskRecorder(Db &reads, GroupCommitter &writes, AttemptClaim claim,
                           std::optional<int> last_step)
    : reads_(reads), writes_(writes), claim_(std::move(claim)) {
    if (last_step) {
        next_step_ = *last_step + 1;
        return;
    }
    Query last = reads_.query("SELECT coalesce(max(step_number), 0) FROM steps WHERE task_id = ?");
    last->bind(1, claim_.task_id);
    last->executeStep();
    next_step_ = last->getColumn(0).getInt() + 1;
}

bool TaskRecorder::broken() const {
    std::lock_guard<std::mutex> guard(trail_->mutex);
    return trail_->failure != nullptr;
}

void TaskRecorder::check_record() const {
    {
        std::lock_guard<std::mutex> guard(trail_->mutex);
        if (trail_->failure)
            std::rethrow_exception(trail_->failure);
    }
    if (trail_->lease_lost)
        throw LeaseLost("task " + claim_.task_id + ": attempt " + std::to_string(claim_.attempt) +
                        " no longer holds the task");
}

void TaskRecorder::lost(const char *write) const {
    throw LeaseLost("task " + claim_.task_id + ": attempt " + std::to_string(claim_.attempt) +
                    " lost its lease; its " + write + " was refused");
}

void TaskRecorder::run_fenced(Db &db, Trail &trail, const FencedWrite &write, bool behind) {
    if (trail.lease_lost)
        return; // refused before: nothing of the attempt is written any more
    {
        std::lock_guard<std::mutex> guard(trail.mutex);
        if (trail.failure)
            return; // broken before: a later write alone would store the attempt out of order
    }
    int changed = 0;
    try {
        changed = write(db);
    } catch (...) {
        // A write behind breaks the record, said at once and not only when the group's answers
        // go out: the attempt's next writes in this same group must not run after it. A write
        // that waits tells its caller, who may try it again (the task's end does).
        if (behind) {
            std::lock_guard<std::mutex> guard(trail.mutex);
            if (!trail.failure)
                trail.failure = std::current_exception();
        }
        throw;
    }
    if (changed == 1)
        return;
    trail.lease_lost = true;
    try {
        db.query("UPDATE metric_counters SET value = value + 1 "
                 "WHERE name = 'ai_agent_fenced_writes_total' AND labels = ''")
            ->exec();
    } catch (const std::exception &) {
        // The count is for operators; the refusal itself is what protects the task.
    }
}

void TaskRecorder::write_now(const FencedWrite &write, const char *what) {
    check_record();
    Trail &trail = *trail_;
    writes_.write([&](Db &db) { run_fenced(db, trail, write, false); });
    check_record(); // an earlier write behind may have failed beside this one
    if (trail.lease_lost)
        lost(what);
}

void TaskRecorder::write_behind(FencedWrite write) {
    check_record();
    writes_.post(
        [trail = trail_, write = std::move(write)](Db &db) { run_fenced(db, *trail, write, true); },
        [trail = trail_](const std::exception_ptr &error) {
            std::lock_guard<std::mutex> guard(trail->mutex);
            if (error && !trail->failure)
                trail->failure = error;
        });
}

TaskRecorder::Step TaskRecorder::begin_step(StepType type, const std::string &description,
                                            const std::string &tool, const json_t *input) {
    const int number = next_step_++;
    const std::string input_text = input ? dump_json(input) : "";
    const std::string timestamp = format_utc(Clock::now());
    write_now(
        [&](Db &db) {
            // The fence, then the insert: one write, as both run in the committer's transaction.
            // (An INSERT ... SELECT on a table with triggers goes through a temporary table.)
            if (!holds_fence(db, claim_))
                return 0;
            Query insert = db.query("INSERT INTO steps (task_id, step_number, attempt, step_type, "
                                    "description, tool, input, status, timestamp) "
                                    "VALUES (:task, :number, :attempt, :type, :description, :tool, "
                                    ":input, 'running', :timestamp)");
            insert->bind(":task", claim_.task_id);
            insert->bind(":attempt", claim_.attempt);
            insert->bind(":number", number);
            insert->bind(":type", to_string(type));
            insert->bind(":description", to_valid_utf8(description));
            if (!tool.empty())
                insert->bind(":tool", tool);
            if (input)
                insert->bind(":input", input_text);
            insert->bind(":timestamp", timestamp);
            return insert->exec();
        },
        "step start");
    return Step(*this, number);
}

void TaskRecorder::end_step(int step_number, const StepEnd &end) {
    write_behind([claim = claim_, step_number, end, finished = format_utc(Clock::now())](Db &db) {
        Query update =
            db.query("UPDATE steps SET status = :status, output = :output, error = :error, "
                     "tokens_input = :tokens_input, tokens_output = :tokens_output, "
                     "execution_time_ms = :milliseconds, finished_at = :finished "
                     "WHERE task_id = :task AND attempt = :attempt AND step_number = :number "
                     "AND status = 'running' AND " +
                     fence_exists);
        bind_claim(*update, claim);
        update->bind(":number", step_number);
        update->bind(":status", to_string(end.status));
        update->bind(":output", to_valid_utf8(end.output));
        if (!end.error.empty())
            update->bind(":error", to_valid_utf8(end.error));
        if (end.tokens) {
            update->bind(":tokens_input", static_cast<int64_t>(end.tokens->input));
            update->bind(":tokens_output", static_cast<int64_t>(end.tokens->output));
        }
        update->bind(":milliseconds", static_cast<int64_t>(end.execution_time_ms));
        update->bind(":finished", finished);
        return update->exec();
    });
}

void TaskRecorder::record_plan(const json_t *plan) {
    write_behind([claim = claim_, plan_text = dump_json(plan)](Db &db) {
        Query update =
            db.query(std::string("UPDATE tasks SET plan = :plan WHERE ") + attempt_fence);
        bind_claim(*update, claim);
        update->bind(":plan", plan_text);
        return update->exec();
    });
}

void TaskRecorder::record_model(const std::string &provider, const std::string &model) {
    write_behind([claim = claim_, provider, model](Db &db) {
        Query update =
            db.query(std::string("UPDATE tasks SET provider = :provider, model = :model WHERE ") +
                     attempt_fence);
        bind_claim(*update, claim);
        update->bind(":provider", provider);
        update->bind(":model", model);
        return update->exec();
    });
}

bool TaskRecorder::finish(const TaskEnd &end) {
    if (lease_lost())
        return false;
    try {
        write_now(
            [&](Db &db) {
                Query update = db.query(
                    std::string(
                        "UPDATE tasks SET status = :status, result = :result, error_code = :code, "
                        "error_message = :message, metrics = :metrics, "
                        "finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), "
                        "lease_expires_at = NULL WHERE ") +
                    attempt_fence);
                bind_claim(*update, claim_);
                update->bind(":status", to_string(end.status));
                if (end.result)
                    update->bind(":result", dump_json(end.result.get()));
                if (!end.error_code.empty()) {
                    update->bind(":code", end.error_code);
                    update->bind(":message", to_valid_utf8(end.error_message));
                }
                if (end.metrics)
                    update->bind(":metrics", dump_json(end.metrics.get()));
                return update->exec();
            },
            "end");
    } catch (const LeaseLost &) {
        return false;
    }
    return true;
}

std::vector<EarlierCall> TaskRecorder::earlier_calls() {
    Query select = reads_.query("SELECT attempt, tool, description, status FROM steps "
                                "WHERE task_id = ? AND attempt < ? AND tool IS NOT NULL "
                                "ORDER BY step_number, attempt");
    select->bind(1, claim_.task_id);
    select->bind(2, claim_.attempt);
    std::vector<EarlierCall> calls;
    while (select->executeStep())
        calls.push_back({select->getColumn(0).getInt(), select->getColumn(1).getString(),
                         select->getColumn(2).getString(), select->getColumn(3).getString()});
    return calls;
}

TaskRecorder::Step::Step(TaskRecorder &recorder, int number)
    : recorder_(&recorder), number_(number) {}

TaskRecorder::Step::Step(Step &&other) noexcept
    : recorder_(other.recorder_), number_(other.number_), started_(other.started_),
      ended_(other.ended_), interruption_(std::move(other.interruption_)),
      interruption_status_(other.interruption_status_) {
    other.ended_ = true;
}

TaskRecorder::Step::~Step() {
    if (ended_ || recorder_->lease_lost())
        return;
    try {
        StepEnd end = StepEnd::failed(interruption_);
        end.status = interruption_status_;
        end.execution_time_ms = elapsed_ms(started_);
        recorder_->end_step(number_, end);
    } catch (...) {
        // The database failed too, or the lease is gone: lease recovery marks the step
        // interrupted later.
    }
}

void TaskRecorder::Step::end(StepEnd end) {
    end.execution_time_ms = elapsed_ms(started_);
    recorder_->end_step(number_, end);
    ended_ =
        true; // not before: a refused hand-over is tried once more, as failed, by the destructor
}

} // namespace tr::runner
