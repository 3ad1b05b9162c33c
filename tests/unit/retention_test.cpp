// core/retention: what pruning deletes and what it keeps (each status, batches, the counters),
// its batches, the dry run's counts, the settings, and the space given back. Every test works on
// a real, freshly migrated SQLite file.
#include "core/retention.h"

#include "core/config.h"
#include "core/db.h"
#include "core/error.h"
#include "core/migrate.h"
#include "test_support.h"

#include <SQLiteCpp/Transaction.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tr {
namespace {

using std::chrono::hours;
using test::TempDir;

const TimePoint now = TimePoint(std::chrono::seconds(1800000000)); // 2027-01-15T08:00:00Z
const TimePoint old_end = now - hours(24 * 40);
const TimePoint recent_end = now - hours(24 * 5);
const TimePoint cutoff = now - hours(24 * 30);

class RetentionTest : public ::testing::Test {
protected:
    RetentionTest() : path_(dir_ / "tasks.db") {
        prepare_database_file(path_);
        db_ = std::make_unique<Db>(path_);
        migrate(db_->handle());
    }

    Db &db() { return *db_; }

    // A task that ran and ended in `status` at `ended` (queued/running: never ended), with two
    // steps, so that it has events, status changes and steps, as a real one does.
    std::string add_task(const std::string &status, TimePoint ended,
                         std::optional<std::string> batch = std::nullopt, int seq = 0) {
        std::string id = "task-" + std::to_string(++tasks_);
        run("INSERT INTO tasks (id, task, batch_id, batch_seq) VALUES (?, 'work', ?, ?)", id,
            batch ? *batch : std::string(), seq);
        if (!batch)
            run("UPDATE tasks SET batch_id = NULL WHERE id = ?", id);
        if (status == "queued")
            return id;
        run("UPDATE tasks SET status = 'running', lease_expires_at = '2099-01-01T00:00:00.000Z', "
            "started_at = created_at WHERE id = ?",
            id);
        for (int step = 1; step <= 2; ++step)
            run("INSERT INTO steps (task_id, step_number, step_type, description, tool, status, "
                "timestamp) VALUES (?, " +
                    std::to_string(step) +
                    ", 'tool_use', 'step', 'read_file', 'running', '2027-01-01T00:00:00.000Z')",
                id);
        run("UPDATE steps SET status = 'completed' WHERE task_id = ?", id);
        if (status == "running")
            return id;
        run("UPDATE tasks SET status = '" + status +
                "', lease_expires_at = NULL, finished_at = ? WHERE id = ?",
            format_utc(ended), id);
        return id;
    }

    void add_batch(const std::string &id) {
        run("INSERT INTO batches (id, mode, continue_on_error, task_count, created_at) "
            "VALUES (?, 'parallel', 1, 2, '2027-01-01T00:00:00.000Z')",
            id);
    }

    template <typename... Values> void run(const std::string &sql, const Values &...values) {
        SQLite::Statement statement(db().handle(), sql);
        int index = 0;
        (statement.bind(++index, values), ...);
        statement.exec();
    }

    long long count(const std::string &sql) {
        SQLite::Statement statement(db().handle(), sql);
        statement.executeStep();
        return statement.getColumn(0).getInt64();
    }

    long long rows_of(const std::string &table, const std::string &id) {
        SQLite::Statement statement(db().handle(),
                                    "SELECT count(*) FROM " + table + " WHERE task_id = ?");
        statement.bind(1, id);
        statement.executeStep();
        return statement.getColumn(0).getInt64();
    }

    bool exists(const std::string &id) {
        SQLite::Statement statement(db().handle(), "SELECT count(*) FROM tasks WHERE id = ?");
        statement.bind(1, id);
        statement.executeStep();
        return statement.getColumn(0).getInt() == 1;
    }

    PruneCounts prune(const RetentionCutoffs &cutoffs, int limit = prune_batch_size) {
        SQLite::Transaction transaction(db().handle(), SQLite::TransactionBehavior::IMMEDIATE);
        PruneCounts deleted = prune_batch(db(), cutoffs, limit);
        transaction.commit();
        return deleted;
    }

    TempDir dir_;
    std::string path_;
    std::unique_ptr<Db> db_;
    int tasks_ = 0;
};

TEST_F(RetentionTest, OldFinishedTasksOfEveryStatusGoWithTheirStepsEventsAndStatusChanges) {
    std::vector<std::string> old;
    for (const std::string &status : finished_statuses())
        old.push_back(add_task(status, old_end));
    for (const std::string &id : old) {
        ASSERT_EQ(rows_of("steps", id), 2);
        ASSERT_GT(rows_of("task_events", id), 0);
        ASSERT_GT(rows_of("task_status_changes", id), 0);
    }
    const PruneCounts deleted = prune(cutoffs_for({}, cutoff));
    EXPECT_EQ(deleted.total(), 4);
    for (const std::string &status : finished_statuses())
        EXPECT_EQ(deleted.by_status.at(status), 1) << status;
    for (const std::string &id : old) {
        EXPECT_FALSE(exists(id));
        EXPECT_EQ(rows_of("steps", id), 0);
        EXPECT_EQ(rows_of("task_events", id), 0);
        EXPECT_EQ(rows_of("task_status_changes", id), 0);
        EXPECT_EQ(rows_of("task_transitions", id), 0); // the view's submission row too
    }
}

TEST_F(RetentionTest, QueuedRunningAndRecentTasksStay) {
    const std::string queued = add_task("queued", old_end);
    const std::string running = add_task("running", old_end);
    const std::string recent = add_task("completed", recent_end);
    // Made old every way a time can be: still not finished, so never due.
    run("UPDATE tasks SET created_at = '2000-01-01T00:00:00.000Z', "
        "started_at = '2000-01-01T00:00:00.000Z' WHERE id IN (?, ?)",
        queued, running);
    EXPECT_EQ(prune(cutoffs_for({}, cutoff)).total(), 0);
    EXPECT_TRUE(exists(queued));
    EXPECT_TRUE(exists(running));
    EXPECT_TRUE(exists(recent));
    EXPECT_EQ(rows_of("steps", running), 2);
}

TEST_F(RetentionTest, OnlyTheStatusesGivenGo) {
    const std::string completed = add_task("completed", old_end);
    const std::string failed = add_task("failed", old_end);
    const PruneCounts deleted = prune(cutoffs_for({"failed"}, cutoff));
    EXPECT_EQ(deleted.total(), 1);
    EXPECT_TRUE(exists(completed));
    EXPECT_FALSE(exists(failed));
}

TEST_F(RetentionTest, OnlyFinishedStatusesCanBeAskedFor) {
    for (const char *status : {"queued", "running", "done", ""}) {
        try {
            cutoffs_for({status}, cutoff);
            ADD_FAILURE() << status << " was accepted";
        } catch (const Error &e) {
            EXPECT_EQ(e.code(), ErrorCode::InvalidRequest);
            EXPECT_TRUE(test::contains(e.what(), "completed, failed, cancelled, timeout"))
                << e.what();
        }
    }
}

TEST_F(RetentionTest, DeletesAtMostTheLimitOldestFirstAndPruneAllGoesOnUntilNoneIsDue) {
    {
        SQLite::Transaction setup(db().handle()); // one commit for the lot, not 1200 × 8
        for (int i = 0; i < 1200; ++i)
            add_task("completed", old_end - hours(i));
        setup.commit();
    }
    const std::string newest_old = "task-1"; // ended latest of them
    EXPECT_EQ(prune(cutoffs_for({}, cutoff), 500).total(), 500);
    EXPECT_TRUE(exists(newest_old)) << "the oldest go first";
    EXPECT_FALSE(exists("task-1200"));
    int transactions = 0;
    const PruneCounts rest = prune_all(db(), cutoffs_for({}, cutoff), &transactions);
    EXPECT_EQ(rest.total(), 700);
    EXPECT_EQ(transactions, 4); // 200, 200, 200, then 100
    EXPECT_EQ(count("SELECT count(*) FROM tasks"), 0);
}

TEST_F(RetentionTest, TheDryRunCountsWhatPruningThenDeletes) {
    for (int i = 0; i < 7; ++i)
        add_task("completed", old_end);
    for (int i = 0; i < 3; ++i)
        add_task("timeout", old_end);
    add_task("failed", recent_end);
    add_task("queued", old_end);
    const PruneCounts due = count_due(db(), cutoffs_for({}, cutoff));
    EXPECT_EQ(due.by_status, (std::map<std::string, long long>{{"completed", 7}, {"timeout", 3}}));
    EXPECT_EQ(count("SELECT count(*) FROM tasks"), 12) << "a dry run deletes nothing";
    EXPECT_EQ(prune_all(db(), cutoffs_for({}, cutoff)).by_status, due.by_status);
}

TEST_F(RetentionTest, ABatchGoesOnlyWholeAndItsRowWithItsLastTask) {
    add_batch("b-1");
    const std::string old_one = add_task("completed", old_end, "b-1", 1);
    const std::string recent_one = add_task("failed", recent_end, "b-1", 2);
    EXPECT_EQ(prune(cutoffs_for({}, cutoff)).total(), 0) << "one of its tasks is not due";
    EXPECT_TRUE(exists(old_one));
    run("UPDATE tasks SET finished_at = ? WHERE id = ?", format_utc(old_end), recent_one);
    const PruneCounts deleted = prune(cutoffs_for({}, cutoff));
    EXPECT_EQ(deleted.total(), 2);
    EXPECT_EQ(deleted.batches, 1);
    EXPECT_EQ(count("SELECT count(*) FROM batches"), 0);
}

TEST_F(RetentionTest, ABatchWithAQueuedTaskStays) {
    add_batch("b-2");
    add_task("completed", old_end, "b-2", 1);
    add_task("queued", old_end, "b-2", 2);
    EXPECT_EQ(prune(cutoffs_for({}, cutoff)).total(), 0);
    EXPECT_EQ(count("SELECT count(*) FROM batches"), 1);
}

TEST_F(RetentionTest, TheCountersOfMetricsAreKept) {
    for (int i = 0; i < 5; ++i)
        add_task("completed", old_end);
    add_task("failed", old_end);
    const auto counters = [&] {
        std::map<std::string, double> values;
        SQLite::Statement select(db().handle(),
                                 "SELECT name || '{' || labels || '}', value FROM metric_counters");
        while (select.executeStep())
            values[select.getColumn(0).getString()] = select.getColumn(1).getDouble();
        return values;
    };
    const auto before = counters();
    EXPECT_EQ(before.at("ai_agent_tasks_total{}"), 6);
    EXPECT_EQ(prune(cutoffs_for({}, cutoff)).total(), 6);
    EXPECT_EQ(counters(), before) << "Prometheus counters never go down";
}

TEST_F(RetentionTest, TheConfiguredDaysApplyPerStatusOverTheDefault) {
    StorageConfig storage;
    EXPECT_TRUE(configured_cutoffs(storage, now).empty()) << "unset: kept forever";
    storage.retention_days = 30;
    storage.retention_days_by_status.failed = 90;
    const RetentionCutoffs cutoffs = configured_cutoffs(storage, now);
    EXPECT_EQ(cutoffs.by_status.at("completed"), now - hours(24 * 30));
    EXPECT_EQ(cutoffs.by_status.at("failed"), now - hours(24 * 90));
    EXPECT_EQ(cutoffs.by_status.size(), 4u);
    StorageConfig only_cancelled;
    only_cancelled.retention_days_by_status.cancelled = 7;
    EXPECT_EQ(configured_cutoffs(only_cancelled, now).by_status.size(), 1u);

    const std::string completed = add_task("completed", now - hours(24 * 40));
    const std::string failed = add_task("failed", now - hours(24 * 40));
    EXPECT_EQ(prune(cutoffs).total(), 1);
    EXPECT_FALSE(exists(completed));
    EXPECT_TRUE(exists(failed)) << "kept 90 days";
}

TEST_F(RetentionTest, TheIndexServesTheCutoff) {
    // INDEXED BY would make the prune fail outright if tasks_finished could not serve it; the
    // plan shows the range, not a scan of the table.
    SQLite::Statement plan(db().handle(),
                           "EXPLAIN QUERY PLAN SELECT id FROM tasks INDEXED BY tasks_finished "
                           "WHERE status = 'completed' AND finished_at < '2027'");
    std::string text;
    while (plan.executeStep())
        text += plan.getColumn(3).getString() + "\n";
    EXPECT_TRUE(test::contains(text, "USING COVERING INDEX tasks_finished (status=? AND "
                                     "finished_at<?)") ||
                test::contains(text, "USING INDEX tasks_finished (status=? AND finished_at<?)"))
        << text;
}

TEST_F(RetentionTest, ANewDatabaseIsIncrementalAndGivesTheFreedPagesBack) {
    EXPECT_EQ(auto_vacuum_mode(db()), "incremental");
    const std::string big(4000, 'x');
    {
        SQLite::Transaction setup(db().handle());
        for (int i = 0; i < 300; ++i) {
            const std::string id = add_task("completed", old_end);
            run("UPDATE tasks SET result = json_quote(?) WHERE id = ?", big, id);
        }
        setup.commit();
    }
    const PageCounts full = page_counts(db());
    prune_all(db(), cutoffs_for({}, cutoff));
    const PageCounts pruned = page_counts(db());
    EXPECT_GT(pruned.free_pages, 250) << "deleting frees pages, which new rows reuse";
    EXPECT_EQ(pruned.pages, full.pages);
    {
        SQLite::Transaction transaction(db().handle(), SQLite::TransactionBehavior::IMMEDIATE);
        EXPECT_EQ(release_free_pages(db(), 1 << 20), pruned.free_pages);
        transaction.commit();
    }
    const PageCounts released = page_counts(db());
    EXPECT_EQ(released.free_pages, 0);
    EXPECT_EQ(released.pages, full.pages - pruned.free_pages);
}

TEST_F(RetentionTest, AnOlderDatabaseIsConvertedByOneVacuum) {
    // A database made before this build: auto_vacuum none (the pragma comes before any table).
    const std::string older = dir_ / "older.db";
    {
        SQLite::Database raw(older, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        raw.exec("PRAGMA journal_mode=WAL");
        raw.exec("CREATE TABLE placeholder (x)");
    }
    Db db_older(older);
    migrate(db_older.handle());
    EXPECT_EQ(auto_vacuum_mode(db_older), "none") << "opening does not change an existing file";
    EXPECT_EQ(vacuum_database(db_older), "none");
    EXPECT_EQ(auto_vacuum_mode(db_older), "incremental");
    EXPECT_EQ(vacuum_database(db_older), "incremental");
}

TEST_F(RetentionTest, TheSettingsAreValidated) {
    TempDir config_dir;
    config_dir.make_dir("work");
    const auto load = [&](const std::string &storage) {
        return test::write_and_load_config(
            config_dir, "tools = { working_directory = \"work\"; allowed_paths = [\"work\"]; };\n"
                        "storage = { database = \"data/tasks.db\"; " +
                            storage + " };\n");
    };
    const Config loaded = load("retention_days = 30; retention_days_by_status = { failed = 90; }; "
                               "prune_interval_seconds = 60;");
    EXPECT_EQ(loaded.storage.retention_days, 30);
    EXPECT_EQ(loaded.storage.retention_days_by_status.failed, 90);
    EXPECT_EQ(loaded.storage.retention_days_by_status.completed, 0);
    EXPECT_EQ(loaded.storage.prune_interval_seconds, 60);
    EXPECT_EQ(load("").storage.retention_days, 0) << "unset: kept forever";
    const std::pair<const char *, const char *> refused[] = {
        {"retention_days = -1;", "storage.retention_days must be 0..36500 (got -1)"},
        {"retention_days = \"30d\";", "storage.retention_days must be an integer"},
        {"retention_days_by_status = { queued = 1; };",
         "unknown setting storage.retention_days_by_status.queued"},
        {"retention_days_by_status = 5;", "storage.retention_days_by_status must be a group"},
        {"prune_interval_seconds = 0;", "storage.prune_interval_seconds must be 1..86400"}};
    for (const auto &[text, message] : refused) {
        try {
            load(text);
            ADD_FAILURE() << text << " was accepted";
        } catch (const Error &e) {
            EXPECT_TRUE(test::contains(e.what(), message)) << e.what();
        }
    }
}

} // namespace
} // namespace tr
