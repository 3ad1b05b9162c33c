// core/task_store cancel_task: a queued task is cancelled at once, a running one is asked to
// stop (and its runner sees the request), a finished or unknown one is left alone. Every test
// works on a real, freshly migrated SQLite file.
#include "core/task_store.h"

#include "core/db.h"
#include "core/migrate.h"
#include "runner/claim.h"
#include "test_support.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tr {
namespace {

using std::chrono::seconds;
using test::TempDir;

const TimePoint t0 = TimePoint(seconds(1800000000)); // 2027-01-15T08:00:00Z

// A task row's columns as cancel_task leaves them, NULL as nullopt.
struct TaskRow {
    std::string status;
    std::optional<std::string> finished_at;
    std::optional<std::string> cancel_requested_at;
    std::optional<std::string> error_code;
    std::optional<std::string> error_message;
    std::optional<std::string> runner_id;
    std::optional<std::string> lease_expires_at;
};

class CancelTask : public ::testing::Test {
protected:
    CancelTask() : path_(dir_ / "tasks.db") {
        prepare_database_file(path_);
        db_ = std::make_unique<Db>(path_);
        migrate(db_->handle());
    }

    Db &db() { return *db_; }

    std::string insert(const std::string &text, TimePoint created = t0) {
        TaskRequest request;
        request.task = text;
        return insert_task(db(), request, {}, created).id;
    }

    // Inserts a task and claims it for `runner`, so it is running under a lease.
    std::string insert_running(const std::string &runner) {
        const std::string id = insert("list the files");
        const std::optional<runner::ClaimedTask> claimed =
            runner::claim_next_task(db(), runner, t0 + seconds(31));
        EXPECT_TRUE(claimed);
        EXPECT_EQ(claimed ? claimed->id : "", id);
        return id;
    }

    std::string insert_finished(const std::string &status) {
        const std::string id = insert("say hello");
        SQLite::Statement finish(db().handle(),
                                 "UPDATE tasks SET status = ?, finished_at = ? WHERE id = ?");
        finish.bind(1, status);
        finish.bind(2, format_utc(t0 + seconds(5)));
        finish.bind(3, id);
        finish.exec();
        return id;
    }

    TaskRow row(const std::string &id) {
        SQLite::Statement select(db().handle(),
                                 "SELECT status, finished_at, cancel_requested_at, error_code, "
                                 "error_message, runner_id, lease_expires_at FROM tasks "
                                 "WHERE id = ?");
        select.bind(1, id);
        if (!select.executeStep()) {
            ADD_FAILURE() << "no task " << id;
            return {};
        }
        return {select.getColumn(0).getString(),    optional_text(select.getColumn(1)),
                optional_text(select.getColumn(2)), optional_text(select.getColumn(3)),
                optional_text(select.getColumn(4)), optional_text(select.getColumn(5)),
                optional_text(select.getColumn(6))};
    }

    // The task's status changes, oldest first, as "from->to" ("->queued" for the submission).
    std::vector<std::string> transitions(const std::string &id) {
        SQLite::Statement select(db().handle(),
                                 "SELECT coalesce(from_status, '') || '->' || to_status "
                                 "FROM task_transitions WHERE task_id = ? ORDER BY id");
        select.bind(1, id);
        std::vector<std::string> changes;
        while (select.executeStep())
            changes.push_back(select.getColumn(0).getString());
        return changes;
    }

    int count_tasks() { return db().handle().execAndGet("SELECT count(*) FROM tasks").getInt(); }

    TempDir dir_;
    std::string path_;
    std::unique_ptr<Db> db_;
};

TEST_F(CancelTask, CancelsAQueuedTaskAtOnce) {
    const std::string id = insert("list the files");
    const TimePoint now = t0 + seconds(3);
    EXPECT_EQ(cancel_task(db(), id, now), CancelOutcome::Cancelled);

    const TaskRow task = row(id);
    EXPECT_EQ(task.status, "cancelled");
    EXPECT_EQ(task.finished_at, format_utc(now));
    EXPECT_EQ(task.error_code, "CANCELLED");
    EXPECT_TRUE(task.error_message) << "a cancelled task says why it ended";
    EXPECT_EQ(task.lease_expires_at, std::nullopt);
    EXPECT_EQ(transitions(id), (std::vector<std::string>{"->queued", "queued->cancelled"}));
}

TEST_F(CancelTask, TakesACancelledTaskOutOfTheQueue) {
    const std::string cancelled = insert("first", t0);
    const std::string other = insert("second", t0 + seconds(1));
    ASSERT_EQ(cancel_task(db(), cancelled, t0 + seconds(2)), CancelOutcome::Cancelled);
    const std::optional<runner::ClaimedTask> claimed =
        runner::claim_next_task(db(), "runner-1", t0 + seconds(33));
    ASSERT_TRUE(claimed);
    EXPECT_EQ(claimed->id, other);
    EXPECT_FALSE(runner::claim_next_task(db(), "runner-1", t0 + seconds(33)));
}

TEST_F(CancelTask, AsksTheRunnerOfARunningTaskToStopIt) {
    const std::string id = insert_running("runner-1");
    const TimePoint now = t0 + seconds(4);
    EXPECT_EQ(cancel_task(db(), id, now), CancelOutcome::Requested);

    const TaskRow task = row(id);
    EXPECT_EQ(task.status, "running");
    EXPECT_EQ(task.cancel_requested_at, format_utc(now));
    EXPECT_EQ(task.finished_at, std::nullopt);
    EXPECT_EQ(task.error_code, std::nullopt);
    EXPECT_EQ(task.runner_id, "runner-1");
    EXPECT_TRUE(task.lease_expires_at);
    EXPECT_EQ(transitions(id), (std::vector<std::string>{"->queued", "queued->running"}));

    EXPECT_EQ(runner::cancel_requests(db(), "runner-1"), std::vector<std::string>{id});
    EXPECT_TRUE(runner::cancel_requests(db(), "runner-2").empty());
}

TEST_F(CancelTask, KeepsTheFirstRequestTimeWhenAskedAgain) {
    const std::string id = insert_running("runner-1");
    ASSERT_EQ(cancel_task(db(), id, t0 + seconds(4)), CancelOutcome::Requested);
    EXPECT_EQ(cancel_task(db(), id, t0 + seconds(9)), CancelOutcome::Requested);
    EXPECT_EQ(row(id).cancel_requested_at, format_utc(t0 + seconds(4)));
    EXPECT_EQ(runner::cancel_requests(db(), "runner-1"), std::vector<std::string>{id});
}

TEST_F(CancelTask, ListsOnlyTheRunningTasksWhoseCancellationWasRequested) {
    const std::string asked = insert_running("runner-1");
    insert_running("runner-1");
    const std::string queued = insert("still queued");
    ASSERT_EQ(cancel_task(db(), asked, t0 + seconds(4)), CancelOutcome::Requested);
    ASSERT_EQ(cancel_task(db(), queued, t0 + seconds(4)), CancelOutcome::Cancelled);
    EXPECT_EQ(runner::cancel_requests(db(), "runner-1"), std::vector<std::string>{asked});
}

TEST_F(CancelTask, LeavesAFinishedTaskAsItWas) {
    for (const char *status : {"completed", "failed", "cancelled", "timeout"}) {
        const std::string id = insert_finished(status);
        const std::vector<std::string> before = transitions(id);
        EXPECT_EQ(cancel_task(db(), id, t0 + seconds(9)), CancelOutcome::Finished) << status;

        const TaskRow task = row(id);
        EXPECT_EQ(task.status, status);
        EXPECT_EQ(task.finished_at, format_utc(t0 + seconds(5))) << status;
        EXPECT_EQ(task.cancel_requested_at, std::nullopt) << status;
        EXPECT_EQ(task.error_code, std::nullopt) << status;
        EXPECT_EQ(transitions(id), before) << status;
    }
}

TEST_F(CancelTask, FindsNoUnknownTask) {
    insert("list the files");
    EXPECT_EQ(cancel_task(db(), "00000000-0000-4000-8000-000000000000", t0),
              CancelOutcome::NotFound);
    EXPECT_EQ(cancel_task(db(), "", t0), CancelOutcome::NotFound);
    EXPECT_EQ(count_tasks(), 1);
}

TEST_F(CancelTask, LeavesNoTransactionOpenWhenItChangesNothing) {
    const std::string id = insert_finished("completed");
    ASSERT_EQ(cancel_task(db(), id, t0), CancelOutcome::Finished);
    ASSERT_EQ(cancel_task(db(), "unknown", t0), CancelOutcome::NotFound);
    EXPECT_NE(sqlite3_get_autocommit(db().handle().getHandle()), 0);
    Db other(path_);
    const std::string queued = insert("another");
    EXPECT_EQ(cancel_task(other, queued, t0 + seconds(1)), CancelOutcome::Cancelled);
}

} // namespace
} // namespace tr
