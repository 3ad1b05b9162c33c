// runner/claim with core/task_store: the queue order, leases that no two runners share, lease
// renewal, recovery of a dead runner's tasks (RUNNER_LOST after max_attempts) and release on
// shutdown. Every test works on a real, freshly migrated SQLite file.
#include "runner/claim.h"

#include "core/batch_store.h"
#include "core/db.h"
#include "core/error.h"
#include "core/migrate.h"
#include "core/runners.h"
#include "core/task_store.h"
#include "runner/recorder.h"
#include "test_support.h"

#include <SQLiteCpp/Exception.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace tr::runner {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using test::contains;
using test::TempDir;

// A fixed instant, so times in the database are predictable.
const TimePoint t0 = TimePoint(seconds(1800000000)); // 2027-01-15T08:00:00Z

class ClaimTest : public ::testing::Test {
protected:
    ClaimTest() : path_(dir_ / "tasks.db") {
        prepare_database_file(path_);
        db_ = std::make_unique<Db>(path_);
        migrate(db_->handle());
        storage_.database = path_;
        writes_ = std::make_unique<GroupCommitter>(storage_, log_, "claim_test",
                                                   GroupCommitter::Settings{});
    }

    Db &db() { return *db_; }
    // The writer a recorder writes through, as the runner's do.
    GroupCommitter &writes() { return *writes_; }
    // Returns once every write handed over before it is committed (or refused).
    void settle() {
        writes().write([](Db &) {});
    }

    std::string insert(const std::string &text, Priority priority = Priority::Normal,
                       TimePoint created = t0, std::optional<std::string> id = std::nullopt) {
        TaskRequest request;
        request.task = text;
        request.priority = priority;
        request.task_id = std::move(id);
        return insert_task(db(), request, {}, created).id;
    }

    // One column of one task, as text (NULL as "NULL").
    std::string column(const std::string &id, const std::string &name) {
        SQLite::Statement select(db().handle(), "SELECT " + name + " FROM tasks WHERE id = ?");
        select.bind(1, id);
        if (!select.executeStep())
            return "(no task)";
        return select.getColumn(0).isNull() ? "NULL" : select.getColumn(0).getString();
    }

    std::string step_column(const std::string &id, int step, const std::string &name) {
        SQLite::Statement select(
            db().handle(), "SELECT " + name + " FROM steps WHERE task_id = ? AND step_number = ?");
        select.bind(1, id);
        select.bind(2, step);
        if (!select.executeStep())
            return "(no step)";
        return select.getColumn(0).isNull() ? "NULL" : select.getColumn(0).getString();
    }

    double counter(const std::string &name) {
        SQLite::Statement select(
            db().handle(), "SELECT coalesce(sum(value), 0) FROM metric_counters WHERE name = ?");
        select.bind(1, name);
        select.executeStep();
        return select.getColumn(0).getDouble();
    }

    std::optional<ClaimedTask> claim(const std::string &runner, TimePoint now = t0,
                                     seconds lease = seconds(30)) {
        return claim_next_task(db(), runner, now + lease);
    }

    TempDir dir_;
    std::string path_;
    std::unique_ptr<Db> db_;
    StorageConfig storage_;
    Log log_{"claim_test", LogLevel::Error};
    std::unique_ptr<GroupCommitter> writes_;
};

TEST_F(ClaimTest, ClaimingAnEmptyQueueReturnsNothing) {
    EXPECT_EQ(claim("r1"), std::nullopt);
}

TEST_F(ClaimTest, ClaimOrderIsPriorityFirstThenAge) {
    const std::string low = insert("low", Priority::Low, t0);
    const std::string normal_old = insert("normal old", Priority::Normal, t0 + milliseconds(1));
    const std::string critical = insert("critical", Priority::Critical, t0 + milliseconds(2));
    const std::string high = insert("high", Priority::High, t0 + milliseconds(3));
    const std::string normal_new = insert("normal new", Priority::Normal, t0 + milliseconds(4));
    const std::string critical_new =
        insert("critical new", Priority::Critical, t0 + milliseconds(5));
    std::vector<std::string> order;
    while (const std::optional<ClaimedTask> task = claim("r1", t0 + seconds(1)))
        order.push_back(task->id);
    EXPECT_EQ(order, (std::vector<std::string>{critical, critical_new, high, normal_old, normal_new,
                                               low}));
}

TEST_F(ClaimTest, OneClaimTakesSeveralTasksInQueueOrder) {
    const std::string low = insert("low", Priority::Low, t0);
    const std::string normal = insert("normal", Priority::Normal, t0 + milliseconds(1));
    const std::string critical = insert("critical", Priority::Critical, t0 + milliseconds(2));
    const std::string high = insert("high", Priority::High, t0 + milliseconds(3));
    const std::vector<ClaimedTask> first = claim_tasks(db(), "r1", t0 + seconds(30), 3);
    std::vector<std::string> ids;
    for (const ClaimedTask &task : first) {
        ids.push_back(task.id);
        EXPECT_EQ(task.attempt, 1);
        EXPECT_EQ(task.last_step, 0);
        EXPECT_EQ(column(task.id, "status"), "running");
        EXPECT_EQ(column(task.id, "runner_id"), "r1");
    }
    EXPECT_EQ(ids, (std::vector<std::string>{critical, high, normal}));
    const std::vector<ClaimedTask> rest = claim_tasks(db(), "r2", t0 + seconds(30), 10);
    ASSERT_EQ(rest.size(), 1u);
    EXPECT_EQ(rest[0].id, low);
    EXPECT_TRUE(claim_tasks(db(), "r3", t0 + seconds(30), 10).empty());
}

TEST_F(ClaimTest, OneClaimTakesOnlyTheNextTaskOfASequentialBatch) {
    BatchRequest batch;
    batch.sequential = true;
    for (const char *text : {"first", "second", "third"}) {
        TaskRequest request;
        request.task = text;
        batch.tasks.push_back(std::move(request));
    }
    const SubmittedBatch stored = insert_batch(db(), batch, "", t0);
    const std::string alone = insert("alone", Priority::Normal, t0 + milliseconds(1));
    const std::vector<ClaimedTask> claimed = claim_tasks(db(), "r1", t0 + seconds(30), 10);
    std::vector<std::string> ids;
    for (const ClaimedTask &task : claimed)
        ids.push_back(task.id);
    EXPECT_EQ(ids, (std::vector<std::string>{stored.tasks[0].id, alone}));
}

TEST_F(ClaimTest, AfterAWriteTheDatabaseRefusedNothingMoreOfTheAttemptIsWritten) {
    // The step's end is handed over without a wait and fails; the task's end, which would
    // store a finished task with a step left running, must not be written after it — also in
    // the same transaction, before the failure has been reported back.
    db().handle().exec("CREATE TRIGGER refuse_end BEFORE UPDATE OF status ON steps "
                       "WHEN new.output = 'refused' BEGIN SELECT RAISE(ABORT, 'refused'); END");
    const std::string id = insert("broken record");
    const std::optional<ClaimedTask> task = claim("r", Clock::now());
    ASSERT_TRUE(task);
    TaskRecorder recorder(db(), writes(), task->claim("r"), task->last_step);
    TaskRecorder::Step step = recorder.begin_step(StepType::ToolUse, "list", "list_files", nullptr);
    std::atomic<bool> hold{true}, holding{false};
    writes().post( // keeps the committer busy until both writes below wait for one transaction
        [&](Db &) {
            holding = true;
            while (hold)
                std::this_thread::yield();
        },
        nullptr);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!holding && std::chrono::steady_clock::now() < deadline)
        std::this_thread::yield();
    step.end(StepEnd::completed("refused"));
    bool finished = true;
    std::thread finisher([&] {
        try {
            finished = recorder.finish(TaskEnd{});
        } catch (const SQLite::Exception &) {
            finished = false;
        }
    });
    while (writes().queued() < 2 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::yield();
    hold = false;
    finisher.join();
    EXPECT_FALSE(finished);
    EXPECT_TRUE(recorder.broken());
    EXPECT_FALSE(recorder.lease_lost());
    EXPECT_EQ(column(id, "status"), "running"); // for recovery, once its lease lapses
    EXPECT_EQ(step_column(id, 1, "status"), "running");
    EXPECT_THROW(recorder.begin_step(StepType::Completion, "done", "", nullptr), SQLite::Exception);
    settle();
    EXPECT_EQ(step_column(id, 2, "status"), "(no step)");
}

TEST_F(ClaimTest, AClaimSaysWhereTheStepsOfEarlierAttemptsEnd) {
    const std::string id = insert("again");
    const std::optional<ClaimedTask> first = claim("r", Clock::now());
    ASSERT_TRUE(first);
    {
        TaskRecorder recorder(db(), writes(), first->claim("r"), first->last_step);
        recorder.begin_step(StepType::Planning, "plan", "", nullptr).end(StepEnd::completed("p"));
        recorder.begin_step(StepType::ToolUse, "list", "list_files", nullptr)
            .end(StepEnd::completed("l"));
        settle();
    }
    ASSERT_TRUE(release_task(db(), first->claim("r")));
    const std::optional<ClaimedTask> second = claim("r", Clock::now());
    ASSERT_TRUE(second);
    EXPECT_EQ(second->last_step, 2);
}

TEST_F(ClaimTest, TasksSubmittedInTheSameMillisecondAreClaimedInSubmissionOrder) {
    std::vector<std::string> submitted;
    for (int i = 0; i < 5; ++i)
        submitted.push_back(insert("same time " + std::to_string(i), Priority::High, t0));
    std::vector<std::string> order;
    while (const std::optional<ClaimedTask> task = claim("r1"))
        order.push_back(task->id);
    EXPECT_EQ(order, submitted);
}

TEST_F(ClaimTest, AClaimTakesTheTaskUnderTheRunnersLease) {
    TaskRequest request;
    request.task = "list the files in .";
    request.priority = Priority::High;
    request.context = parse_json(R"({"tools":["list_files"]})");
    const std::string id = insert_task(db(), request, {}, t0).id;

    const std::optional<ClaimedTask> task = claim_next_task(db(), "r1", t0 + seconds(35));
    ASSERT_TRUE(task);
    EXPECT_EQ(task->id, id);
    EXPECT_EQ(task->task, "list the files in .");
    EXPECT_EQ(task->context, R"({"tools":["list_files"]})");
    EXPECT_EQ(task->priority, "high");
    EXPECT_EQ(task->attempt, 1);
    EXPECT_EQ(column(id, "status"), "running");
    EXPECT_EQ(column(id, "runner_id"), "r1");
    EXPECT_EQ(column(id, "lease_expires_at"), format_utc(t0 + seconds(35)));
    // The database's clock at the claim: now, not the test's t0.
    const std::optional<TimePoint> started = parse_utc(column(id, "started_at"));
    ASSERT_TRUE(started);
    EXPECT_LT(std::chrono::abs(*started - Clock::now()), std::chrono::seconds(60));
    EXPECT_EQ(column(id, "attempts"), "1");
}

TEST_F(ClaimTest, ATaskWithoutContextIsClaimedWithNone) {
    insert("no context");
    const std::optional<ClaimedTask> task = claim("r1");
    ASSERT_TRUE(task);
    EXPECT_EQ(task->context, std::nullopt);
}

TEST_F(ClaimTest, AClaimedTaskIsNotClaimedAgain) {
    insert("only one");
    ASSERT_TRUE(claim("r1"));
    EXPECT_EQ(claim("r1"), std::nullopt);
    EXPECT_EQ(claim("r2"), std::nullopt);
}

TEST_F(ClaimTest, TwoRunnersNeverGetTheSameTask) {
    constexpr int tasks = 200;
    constexpr int runners = 4;
    std::set<std::string> submitted;
    for (int i = 0; i < tasks; ++i)
        submitted.insert(insert("task " + std::to_string(i), static_cast<Priority>(i % 4),
                                t0 + milliseconds(i % 7)));

    std::vector<std::vector<std::string>> claimed(runners);
    std::vector<std::string> errors(runners);
    std::mutex mutex;
    std::condition_variable ready;
    int waiting = 0;
    std::vector<std::thread> threads;
    for (int r = 0; r < runners; ++r)
        threads.emplace_back([&, r] {
            try {
                Db connection(path_); // one connection per thread, never shared
                {
                    std::unique_lock<std::mutex> lock(mutex);
                    ++waiting;
                    ready.notify_all();
                    ready.wait(lock, [&] { return waiting == runners; });
                }
                const std::string runner = "runner-" + std::to_string(r);
                while (const std::optional<ClaimedTask> task =
                           claim_next_task(connection, runner, t0 + seconds(30)))
                    claimed[r].push_back(task->id);
            } catch (const std::exception &e) {
                errors[r] = e.what();
            }
        });
    for (std::thread &thread : threads)
        thread.join();

    std::map<std::string, int> times_claimed;
    for (int r = 0; r < runners; ++r) {
        EXPECT_EQ(errors[r], "") << "runner " << r;
        for (const std::string &id : claimed[r]) {
            ++times_claimed[id];
            EXPECT_EQ(column(id, "runner_id"), "runner-" + std::to_string(r)); // the lease agrees
        }
    }
    EXPECT_EQ(times_claimed.size(), submitted.size());
    for (const auto &[id, times] : times_claimed) {
        EXPECT_EQ(times, 1) << id;
        EXPECT_TRUE(submitted.count(id)) << id;
        EXPECT_EQ(column(id, "attempts"), "1") << id;
    }
    EXPECT_EQ(
        db().handle().execAndGet("SELECT count(*) FROM tasks WHERE status = 'running'").getInt(),
        tasks);
}

TEST_F(ClaimTest, RenewLeaseExtendsOnlyThatAttemptsLease) {
    // The fence compares leases with the database's clock, so these leases are real times.
    const TimePoint now = Clock::now();
    const std::string a1 = insert("a1", Priority::Normal, t0);
    const std::string b1 = insert("b1", Priority::Normal, t0 + milliseconds(1));
    const std::string queued = insert("queued", Priority::Low, t0 + milliseconds(2));
    const std::optional<ClaimedTask> first = claim("a", now);
    ASSERT_EQ(first->id, a1);
    ASSERT_EQ(claim("b", now)->id, b1);

    EXPECT_TRUE(renew_lease(db(), first->claim("a"), now + seconds(90)));
    EXPECT_EQ(column(a1, "lease_expires_at"), format_utc(now + seconds(90)));
    EXPECT_EQ(column(b1, "lease_expires_at"), format_utc(now + seconds(30)));
    EXPECT_EQ(column(queued, "lease_expires_at"), "NULL");
    // Not another runner's, nor another attempt's.
    EXPECT_FALSE(renew_lease(db(), {a1, "b", first->attempt}, now + seconds(120)));
    EXPECT_FALSE(renew_lease(db(), {a1, "a", first->attempt + 1}, now + seconds(120)));
    EXPECT_EQ(column(a1, "lease_expires_at"), format_utc(now + seconds(90)));
}

TEST_F(ClaimTest, RenewLeaseRefusesTasksThatAreNoLongerRunning) {
    const TimePoint now = Clock::now();
    const std::string id = insert("done");
    const std::optional<ClaimedTask> task = claim("a", now);
    ASSERT_TRUE(task);
    TaskRecorder recorder(db(), writes(), task->claim("a"));
    ASSERT_TRUE(recorder.finish(TaskEnd{}));
    EXPECT_FALSE(renew_lease(db(), task->claim("a"), now + seconds(90)));
    EXPECT_EQ(column(id, "status"), "completed");
    EXPECT_EQ(column(id, "lease_expires_at"), "NULL");
}

TEST_F(ClaimTest, ALapsedLeaseHoldsNothingEvenBeforeRecovery) {
    const std::string id = insert("stalled");
    const std::optional<ClaimedTask> task = claim("r", Clock::now() - seconds(40), seconds(30));
    ASSERT_TRUE(task);
    EXPECT_FALSE(renew_lease(db(), task->claim("r"), Clock::now() + seconds(30)));
    TaskRecorder recorder(db(), writes(), task->claim("r"));
    // Handed over without a wait; the refusal shows at the next write, which waits.
    recorder.record_plan(JsonPtr(json_object()).get());
    EXPECT_THROW(recorder.begin_step(StepType::Planning, "plan", "", nullptr), LeaseLost);
    EXPECT_TRUE(recorder.lease_lost());
    EXPECT_THROW(recorder.record_plan(JsonPtr(json_object()).get()), LeaseLost);
    EXPECT_FALSE(recorder.finish(TaskEnd{}));
    EXPECT_EQ(column(id, "status"), "running"); // until recovery takes it
}

TEST_F(ClaimTest, RecoverRequeuesAnExpiredTaskAndInterruptsItsRunningSteps) {
    const std::string id = insert("crashed runner's task");
    const TimePoint now = Clock::now();
    const std::optional<ClaimedTask> task = claim("dead", now, seconds(30));
    ASSERT_TRUE(task);
    TaskRecorder recorder(db(), writes(), task->claim("dead"));
    recorder.begin_step(StepType::Planning, "plan", "", nullptr).end(StepEnd::completed("ok"));
    std::optional<TaskRecorder::Step> running;
    running.emplace(recorder.begin_step(StepType::ToolUse, "read a.txt", "read_file", nullptr));
    const double recoveries_before = counter("ai_agent_lease_recoveries_total");

    EXPECT_EQ(recover_expired_leases(db(), now + seconds(31)), 1);
    EXPECT_EQ(column(id, "status"), "queued");
    EXPECT_EQ(column(id, "lease_expires_at"), "NULL");
    EXPECT_EQ(column(id, "attempts"), "1");
    EXPECT_EQ(column(id, "error_code"), "NULL");
    EXPECT_EQ(column(id, "finished_at"), "NULL");
    EXPECT_EQ(step_column(id, 2, "status"), "interrupted");
    EXPECT_TRUE(contains(step_column(id, 2, "error"), "may or may not have taken effect"));
    EXPECT_EQ(step_column(id, 2, "finished_at"), format_utc(now + seconds(31)));
    EXPECT_EQ(step_column(id, 1, "status"), "completed");
    EXPECT_EQ(counter("ai_agent_lease_recoveries_total"), recoveries_before + 1);

    // Another runner takes it up again, as its second attempt.
    const std::optional<ClaimedTask> again = claim("alive", now + seconds(32));
    ASSERT_TRUE(again);
    EXPECT_EQ(again->id, id);
    EXPECT_EQ(again->attempt, 2);
    // The step the dead attempt left open is not ended by it any more.
    running.reset();
    settle();
    EXPECT_EQ(step_column(id, 2, "status"), "interrupted");
}

// A runner stopped past its lease (SIGSTOP) and continued, after the task went to another
// attempt: whatever the old attempt writes is refused, whoever holds the task now.
TEST_F(ClaimTest, AStaleAttemptChangesNothingOfTheAttemptThatReplacedIt) {
    for (const char *next_runner : {"other", "same"}) {
        const std::string id = insert(std::string("taken over by ") + next_runner);
        const TimePoint now = Clock::now();
        const std::optional<ClaimedTask> first = claim("same", now - seconds(31), seconds(30));
        ASSERT_TRUE(first);
        TaskRecorder stale(db(), writes(), first->claim("same"));
        ASSERT_EQ(recover_expired_leases(db(), now), 1);
        const std::optional<ClaimedTask> second = claim(next_runner, now);
        ASSERT_EQ(second->id, id);
        ASSERT_EQ(second->attempt, 2);
        TaskRecorder live(db(), writes(), second->claim(next_runner));
        live.begin_step(StepType::Planning, "plan", "", nullptr).end(StepEnd::completed("plan"));
        const double fenced_before = counter("ai_agent_fenced_writes_total");

        EXPECT_THROW(
            stale.begin_step(StepType::ToolUse, "run_command: rm -rf", "run_command", nullptr),
            LeaseLost);
        EXPECT_THROW(stale.record_plan(JsonPtr(json_object()).get()), LeaseLost);
        TaskEnd failure;
        failure.status = TaskStatus::Failed;
        failure.error_code = "INTERNAL_ERROR";
        EXPECT_FALSE(stale.finish(failure));
        EXPECT_EQ(counter("ai_agent_fenced_writes_total"), fenced_before + 1);

        EXPECT_EQ(column(id, "status"), "running");
        EXPECT_EQ(column(id, "error_code"), "NULL");
        EXPECT_EQ(column(id, "runner_id"), next_runner);
        live.begin_step(StepType::Completion, "done", "", nullptr).end(StepEnd::completed("done"));
        EXPECT_TRUE(live.finish(TaskEnd{}));
        EXPECT_EQ(column(id, "status"), "completed");
        EXPECT_EQ(db().handle()
                      .execAndGet("SELECT count(*) FROM steps WHERE task_id = '" + id + "'")
                      .getInt(),
                  2);
    }
}

TEST_F(ClaimTest, AStepOpenWhenTheLeaseIsLostIsLeftForRecoveryToInterrupt) {
    const std::string id = insert("lost mid-step");
    const TimePoint now = Clock::now();
    const std::optional<ClaimedTask> first = claim("r", now - seconds(31), seconds(30));
    TaskRecorder stale(db(), writes(), first->claim("r"));
    {
        SQLite::Statement open(db().handle(),
                               "INSERT INTO steps (task_id, step_number, attempt, step_type, "
                               "description, status, timestamp) "
                               "VALUES (?, 1, 1, 'tool_use', 'sleep', 'running', 'x')");
        open.bind(1, id);
        open.exec();
    }
    ASSERT_EQ(recover_expired_leases(db(), now), 1);
    EXPECT_EQ(step_column(id, 1, "status"), "interrupted");
    EXPECT_THROW(stale.begin_step(StepType::ToolUse, "again", "run_command", nullptr), LeaseLost);
    EXPECT_EQ(step_column(id, 1, "status"), "interrupted");
}

TEST_F(ClaimTest, EarlierCallsListTheToolCallsOfEarlierAttempts) {
    const std::string id = insert("twice");
    const TimePoint now = Clock::now();
    const std::optional<ClaimedTask> first = claim("r", now - seconds(31), seconds(30));
    {
        SQLite::Statement steps(
            db().handle(),
            "INSERT INTO steps (task_id, step_number, attempt, step_type, description, tool, "
            "status, timestamp) VALUES (?1, 1, 1, 'analysis', 'Model call 1', NULL, 'completed', "
            "'x'), (?1, 2, 1, 'tool_use', 'run_command: make install', 'run_command', "
            "'running', 'x')");
        steps.bind(1, id);
        steps.exec();
    }
    ASSERT_EQ(recover_expired_leases(db(), now), 1);
    const std::optional<ClaimedTask> second = claim("r", now);
    TaskRecorder recorder(db(), writes(), second->claim("r"));
    const std::vector<EarlierCall> calls = recorder.earlier_calls();
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0].attempt, 1);
    EXPECT_EQ(calls[0].tool, "run_command");
    EXPECT_EQ(calls[0].description, "run_command: make install");
    EXPECT_EQ(calls[0].status, "interrupted");
    // The new attempt's steps are numbered after the old ones.
    recorder.begin_step(StepType::Planning, "plan", "", nullptr).end(StepEnd::completed("p"));
    EXPECT_EQ(step_column(id, 3, "attempt"), "2");
}

TEST_F(ClaimTest, RecoverLeavesLeasesThatHaveNotExpired) {
    const std::string id = insert("running");
    ASSERT_TRUE(claim("r1", t0, seconds(30)));
    EXPECT_EQ(recover_expired_leases(db(), t0 + seconds(29)), 0);
    EXPECT_EQ(column(id, "status"), "running");
}

TEST_F(ClaimTest, RecoverLeavesOtherRunnersLiveTasksAndFinishedTasksAlone) {
    const TimePoint now = Clock::now();
    const std::string expired = insert("expired", Priority::Normal, t0);
    const std::string live = insert("live", Priority::Normal, t0 + milliseconds(1));
    const std::string finished = insert("finished", Priority::Normal, t0 + milliseconds(2));
    const std::string queued = insert("queued", Priority::Low, t0 + milliseconds(3));
    ASSERT_EQ(claim("dead", now, seconds(10))->id, expired);
    ASSERT_EQ(claim("alive", now, seconds(60))->id, live);
    const std::optional<ClaimedTask> done = claim("alive", now, seconds(10));
    ASSERT_EQ(done->id, finished);
    ASSERT_TRUE(TaskRecorder(db(), writes(), done->claim("alive")).finish(TaskEnd{}));

    EXPECT_EQ(recover_expired_leases(db(), now + seconds(20)), 1);
    EXPECT_EQ(column(expired, "status"), "queued");
    EXPECT_EQ(column(live, "status"), "running");
    EXPECT_EQ(column(finished, "status"), "completed");
    EXPECT_EQ(column(queued, "status"), "queued");
}

TEST_F(ClaimTest, RecoverFailsATaskWithRunnerLostAfterMaxAttempts) {
    const std::string id = insert("keeps killing its runner");
    TimePoint now = t0;
    for (int attempt = 1; attempt <= max_attempts; ++attempt) {
        const std::optional<ClaimedTask> task =
            claim("r" + std::to_string(attempt), now, seconds(30));
        ASSERT_TRUE(task) << "attempt " << attempt;
        EXPECT_EQ(task->attempt, attempt);
        now += seconds(31);
        EXPECT_EQ(recover_expired_leases(db(), now), 1);
        EXPECT_EQ(column(id, "status"), attempt < max_attempts ? "queued" : "failed");
    }
    EXPECT_EQ(column(id, "error_code"), "RUNNER_LOST");
    EXPECT_EQ(column(id, "error_message"),
              "the runner executing this task stopped responding 3 times");
    EXPECT_EQ(column(id, "finished_at"), format_utc(now));
    EXPECT_EQ(column(id, "lease_expires_at"), "NULL");
    EXPECT_EQ(claim("r4", now), std::nullopt); // failed for good, not back in the queue
}

TEST_F(ClaimTest, ReleaseRequeuesWithoutCountingTheAttempt) {
    const std::string id = insert("interrupted by shutdown");
    const std::optional<ClaimedTask> task = claim("r1", Clock::now());
    ASSERT_EQ(task->attempt, 1);
    EXPECT_TRUE(release_task(db(), task->claim("r1")));
    EXPECT_EQ(column(id, "status"), "queued");
    EXPECT_EQ(column(id, "lease_expires_at"), "NULL");
    EXPECT_EQ(column(id, "attempts"), "0");
    const std::optional<ClaimedTask> again = claim("r2");
    ASSERT_TRUE(again);
    EXPECT_EQ(again->id, id);
    EXPECT_EQ(again->attempt, 1);
}

TEST_F(ClaimTest, ReleaseRefusesAnotherRunnersOrAttemptsTask) {
    const std::string id = insert("not yours");
    const std::optional<ClaimedTask> task = claim("owner", Clock::now());
    ASSERT_TRUE(task);
    EXPECT_FALSE(release_task(db(), task->claim("someone-else")));
    EXPECT_FALSE(release_task(db(), {id, "owner", task->attempt + 1}));
    EXPECT_EQ(column(id, "status"), "running");
    EXPECT_EQ(column(id, "runner_id"), "owner");
}

TEST_F(ClaimTest, ReleaseRefusesATaskThatIsNotRunning) {
    const std::string id = insert("queued");
    EXPECT_FALSE(release_task(db(), {id, "r1", 0}));
    EXPECT_FALSE(release_task(db(), {"no-such-task", "r1", 1}));
    EXPECT_EQ(column(id, "attempts"), "0");
}

TEST_F(ClaimTest, CancelRequestsListsOnlyThisRunnersRunningTasksMarkedForCancellation) {
    const std::string mine = insert("mine", Priority::Normal, t0);
    const std::string also_mine = insert("also mine", Priority::Normal, t0 + milliseconds(1));
    const std::string theirs = insert("theirs", Priority::Normal, t0 + milliseconds(2));
    ASSERT_EQ(claim("a")->id, mine);
    ASSERT_EQ(claim("a")->id, also_mine);
    ASSERT_EQ(claim("b")->id, theirs);
    db().handle().exec("UPDATE tasks SET cancel_requested_at = '" + format_utc(t0) +
                       "' WHERE id IN ('" + mine + "', '" + theirs + "')");
    EXPECT_EQ(cancel_requests(db(), "a"), std::vector<std::string>{mine});
    EXPECT_EQ(cancel_requests(db(), "b"), std::vector<std::string>{theirs});
    EXPECT_TRUE(cancel_requests(db(), "c").empty());
}

TEST_F(ClaimTest, RunnersAreRegisteredBeatAndStop) {
    register_runner(db(), {"r1", "host", 1234, 4, "none", "uid 1000", "none", "none"}, t0);
    register_runner(db(), {"r2", "host", 1235, 4, "bubblewrap", "uid 65533", "cgroup v1", "none"},
                    t0);
    EXPECT_EQ(summarize_runners(db(), t0 + seconds(1)).alive, 2);
    // What the live runners' commands run in, as /health and /api/v1/tools say.
    EXPECT_EQ(summarize_runners(db(), t0 + seconds(1)).sandbox, "bubblewrap, none");
    record_heartbeat(db(), "r1", {3, 0, 0}, t0 + seconds(20));
    const RunnerSummary later = summarize_runners(db(), t0 + seconds(21));
    EXPECT_EQ(later.alive, 1); // r2 missed its beats
    EXPECT_EQ(later.last_heartbeat, format_utc(t0 + seconds(20)));
    record_runner_stopped(db(), "r1", t0 + seconds(22));
    EXPECT_EQ(summarize_runners(db(), t0 + seconds(22)).alive, 0);
}

TEST_F(ClaimTest, InsertTaskGivesAUuidWhenNoIdIsRequested) {
    const std::string id = insert("anonymous");
    EXPECT_EQ(id.size(), 36u);
    EXPECT_EQ(id[14], '7'); // version 7: time first, so the primary key index grows at its end
    EXPECT_NE(insert("another"), id);
}

TEST_F(ClaimTest, GeneratedTaskIdsSortAsTheirSubmissionTimes) {
    // Random (version 4) ids put each insert on a random page of the id index: at 1,000,000
    // tasks a group commit wrote about a page per task, and submissions ran at half the rate.
    const std::string first = insert("first", Priority::Normal, t0);
    const std::string second =
        insert("second", Priority::Normal, t0 + std::chrono::milliseconds(1));
    const std::string later = insert("later", Priority::Normal, t0 + std::chrono::hours(24 * 400));
    EXPECT_LT(first, second);
    EXPECT_LT(second, later);
    EXPECT_NE(first.substr(24), second.substr(24)); // the random part differs
}

TEST_F(ClaimTest, InsertTaskKeepsTheRequestedIdAndStoresTheRequest) {
    TaskRequest request;
    request.task = "read README.md";
    request.task_id = "custom-id";
    request.priority = Priority::Critical;
    request.metadata = parse_json(R"({"k":"v"})");
    const SubmittedTask submitted = insert_task(db(), request, {}, t0);
    EXPECT_EQ(submitted.id, "custom-id");
    EXPECT_EQ(submitted.created_at, format_utc(t0));
    const std::optional<JsonPtr> task = load_task(db(), "custom-id");
    ASSERT_TRUE(task);
    EXPECT_EQ(json_string_member(task->get(), "status"), "queued");
    EXPECT_EQ(json_string_member(task->get(), "priority"), "critical");
    EXPECT_EQ(json_string_member(task->get(), "task"), "read README.md");
    EXPECT_EQ(dump_json(json_object_get(task->get(), "metadata")), R"({"k":"v"})");
    EXPECT_EQ(json_array_size(json_object_get(task->get(), "steps")), 0u);
}

TEST_F(ClaimTest, InsertTaskRefusesATaskIdInUse) {
    insert("first", Priority::Normal, t0, "same-id");
    try {
        insert("second", Priority::Normal, t0, "same-id");
        FAIL() << "a duplicate task_id was accepted";
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::Conflict);
        EXPECT_EQ(std::string(e.what()),
                  "task_id \"same-id\" is already used by a different request; "
                  "send the same request again, or use another id");
    }
    EXPECT_EQ(column("same-id", "task"), "first");
}

TEST_F(ClaimTest, TheSameRequestWithTheSameIdGivesBackTheFirstTask) {
    TaskRequest request;
    request.task = "read README.md";
    request.task_id = "retry-me";
    const SubmittedTask first = insert_task(db(), request, {"alice", "", 0, ""}, t0);
    const SubmittedTask again = insert_task(db(), request, {"alice", "", 0, ""}, t0 + seconds(5));
    EXPECT_FALSE(first.existing);
    EXPECT_TRUE(again.existing);
    EXPECT_EQ(again.created_at, first.created_at);
    // The same id and request from another owner is not a retry: it would leak the first.
    EXPECT_THROW(insert_task(db(), request, {"bob", "", 0, ""}, t0), Error);
}

TEST_F(ClaimTest, LoadTaskOfAnUnknownIdIsNothing) {
    EXPECT_EQ(load_task(db(), "no-such-task"), std::nullopt);
}

} // namespace
} // namespace tr::runner
