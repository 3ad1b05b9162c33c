// core/migrate and core/db: migrations applied once, in order, each in its own transaction;
// a newer database refused; connections opened one way (WAL, foreign keys, 0600 files).
#include "core/migrate.h"

#include "core/db.h"
#include "core/error.h"
#include "test_support.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace tr {
namespace {

using test::contains;
using test::TempDir;

std::vector<int> embedded_versions() {
    std::vector<int> versions;
    for (const Migration &migration : embedded_migrations())
        versions.push_back(migration.version);
    return versions;
}

int count_rows(SQLite::Database &database, const std::string &table) {
    return database.execAndGet("SELECT count(*) FROM " + table).getInt();
}

unsigned file_mode(const std::string &path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0)
        return 0;
    return info.st_mode & 07777;
}

// Our own migrations: 1 creates schema_migrations (as 0001_initial.sql does) and a table.
const Migration base_migration{1, "base",
                               "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                               "name TEXT NOT NULL);"
                               "CREATE TABLE first (x INTEGER);"};

std::string migrate_error(SQLite::Database &database, const std::vector<Migration> &migrations) {
    try {
        migrate(database, migrations);
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::InternalError);
        return e.what();
    }
    ADD_FAILURE() << "migrate succeeded";
    return "";
}

TEST(EmbeddedMigrations, AreNumberedInOrderWithShortNames) {
    const std::vector<Migration> &migrations = embedded_migrations();
    ASSERT_FALSE(migrations.empty());
    EXPECT_EQ(migrations.front().version, 1);
    EXPECT_EQ(migrations.front().name, "initial");
    for (std::size_t i = 1; i < migrations.size(); ++i)
        EXPECT_LT(migrations[i - 1].version, migrations[i].version);
    for (const Migration &migration : migrations) {
        EXPECT_FALSE(migration.name.empty());
        EXPECT_EQ(migration.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_"),
                  std::string::npos)
            << migration.name;
        ASSERT_NE(migration.sql, nullptr);
        EXPECT_GT(std::string(migration.sql).size(), 0u);
    }
}

TEST(Migrate, AFreshDatabaseGetsEveryEmbeddedMigration) {
    TempDir dir;
    Db db(dir / "tasks.db");
    ASSERT_EQ(schema_version(db.handle()), 0);
    const MigrationReport report = migrate(db.handle());
    EXPECT_EQ(report.applied, embedded_versions());
    EXPECT_EQ(report.schema_version, embedded_versions().back());
    EXPECT_EQ(schema_version(db.handle()), embedded_versions().back());
    EXPECT_EQ(count_rows(db.handle(), "schema_migrations"),
              static_cast<int>(embedded_versions().size()));
    SQLite::Statement rows(db.handle(), "SELECT version, name, applied_at FROM schema_migrations "
                                        "ORDER BY version");
    for (const Migration &migration : embedded_migrations()) {
        ASSERT_TRUE(rows.executeStep());
        EXPECT_EQ(rows.getColumn(0).getInt(), migration.version);
        EXPECT_EQ(rows.getColumn(1).getString(), migration.name);
        EXPECT_FALSE(rows.getColumn(2).getString().empty());
    }
    for (const char *table : {"tasks", "steps", "task_status_changes", "runners"})
        EXPECT_TRUE(db.handle().tableExists(table)) << table;
    EXPECT_EQ(db.handle()
                  .execAndGet("SELECT type FROM sqlite_master WHERE name = "
                              "'task_transitions'")
                  .getString(),
              "view");
}

TEST(Migrate, ASecondRunAppliesNothing) {
    TempDir dir;
    Db db(dir / "tasks.db");
    migrate(db.handle());
    const MigrationReport again = migrate(db.handle());
    EXPECT_TRUE(again.applied.empty());
    EXPECT_EQ(again.schema_version, embedded_versions().back());
    EXPECT_EQ(count_rows(db.handle(), "schema_migrations"),
              static_cast<int>(embedded_versions().size()));
}

TEST(Migrate, ALaterConnectionFindsTheWorkDone) {
    TempDir dir;
    {
        Db first(dir / "tasks.db");
        migrate(first.handle());
    }
    Db second(dir / "tasks.db");
    EXPECT_TRUE(migrate(second.handle()).applied.empty());
}

// 0010 stops storing each task's submission transition; a database made before it reads the
// same through the task_transitions view, the rows it had and the ones written after alike.
TEST(Migrate, SubmissionTransitionsReadTheSameBeforeAndAfter0010) {
    TempDir dir;
    Db db(dir / "tasks.db");
    std::vector<Migration> up_to_9;
    for (const Migration &migration : embedded_migrations())
        if (migration.version <= 9)
            up_to_9.push_back(migration);
    migrate(db.handle(), up_to_9);
    db.handle().exec(
        "INSERT INTO tasks (id, task, created_at) VALUES ('a', 'x', '2026-01-01T00:00:00.000Z'),"
        "  ('b', 'y', '2026-01-01T00:00:01.000Z');"
        "UPDATE tasks SET status = 'cancelled' WHERE id = 'b';"
        // Inserted finished, as bench/list_million.sh does: its submission row is not 'queued'.
        "INSERT INTO tasks (id, task, status, created_at) "
        "  VALUES ('c', 'z', 'completed', '2026-01-01T00:00:02.000Z');");
    const auto transitions = [&db] {
        SQLite::Statement select(db.handle(),
                                 "SELECT task_id || ':' || coalesce(from_status, '') || '->' || "
                                 "to_status || '@' || substr(at, 1, 4) FROM task_transitions "
                                 "ORDER BY task_id, id");
        std::vector<std::string> rows;
        while (select.executeStep())
            rows.push_back(select.getColumn(0).getString());
        return rows;
    };
    const std::vector<std::string> before = transitions();
    ASSERT_EQ(before.size(), 4u);
    migrate(db.handle());
    EXPECT_EQ(transitions(), before);
    EXPECT_EQ(count_rows(db.handle(), "task_status_changes"), 2); // b's change, c's odd one
    db.handle().exec("INSERT INTO tasks (id, task, created_at) "
                     "VALUES ('d', 'w', '2027-01-01T00:00:00.000Z');"
                     "UPDATE tasks SET status = 'cancelled' WHERE id = 'd';");
    std::vector<std::string> after = transitions();
    ASSERT_EQ(after.size(), 6u);
    EXPECT_EQ(after[4], "d:->queued@2027");
    EXPECT_EQ(after[5].substr(0, 16), "d:queued->cancel");
    EXPECT_EQ(count_rows(db.handle(), "task_status_changes"), 3); // the submission is not stored
}

TEST(Migrate, AppliesOnlyTheMigrationsNotYetApplied) {
    TempDir dir;
    Db db(dir / "tasks.db");
    EXPECT_EQ(migrate(db.handle(), {base_migration}).applied, std::vector<int>{1});
    const Migration second{2, "second", "CREATE TABLE second (y TEXT);"};
    const MigrationReport report = migrate(db.handle(), {base_migration, second});
    EXPECT_EQ(report.applied, std::vector<int>{2});
    EXPECT_EQ(report.schema_version, 2);
    EXPECT_TRUE(db.handle().tableExists("second"));
}

TEST(Migrate, RefusesADatabaseNewerThanTheMigrationsKnown) {
    TempDir dir;
    Db db(dir / "tasks.db");
    migrate(db.handle());
    db.handle().exec(
        "INSERT INTO schema_migrations (version, name) VALUES (9999, 'from_the_future')");
    const std::string message = migrate_error(db.handle(), embedded_migrations());
    EXPECT_TRUE(
        contains(message, "the database schema is version 9999, newer than this build knows (" +
                              std::to_string(embedded_versions().back()) + ")"))
        << message;
}

TEST(Migrate, RefusesANewerDatabaseWithOurOwnMigrations) {
    TempDir dir;
    Db db(dir / "tasks.db");
    const Migration second{2, "second", "CREATE TABLE second (y TEXT);"};
    migrate(db.handle(), {base_migration, second});
    const std::string message = migrate_error(db.handle(), {base_migration});
    EXPECT_TRUE(contains(message, "schema is version 2, newer than this build knows (1)"))
        << message;
}

TEST(Migrate, AFailingMigrationRollsBackAndThrows) {
    TempDir dir;
    Db db(dir / "tasks.db");
    const Migration broken{2, "broken",
                           "CREATE TABLE half_done (x INTEGER);"
                           "INSERT INTO no_such_table VALUES (1);"};
    const std::string message = migrate_error(db.handle(), {base_migration, broken});
    EXPECT_TRUE(contains(message, "migration 2_broken failed: ")) << message;
    EXPECT_TRUE(contains(message, "no_such_table")) << message;
    // Migration 1 committed on its own; nothing of migration 2 remains.
    EXPECT_TRUE(db.handle().tableExists("first"));
    EXPECT_FALSE(db.handle().tableExists("half_done"));
    EXPECT_EQ(schema_version(db.handle()), 1);
    EXPECT_EQ(count_rows(db.handle(), "schema_migrations"), 1);
}

TEST(Migrate, AFailingFirstMigrationLeavesAnEmptyDatabase) {
    TempDir dir;
    Db db(dir / "tasks.db");
    const Migration broken{
        1, "broken",
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT);"
        "CREATE TABLE partial (x);"
        "THIS IS NOT SQL;"};
    EXPECT_TRUE(contains(migrate_error(db.handle(), {broken}), "migration 1_broken failed"));
    EXPECT_FALSE(db.handle().tableExists("schema_migrations"));
    EXPECT_FALSE(db.handle().tableExists("partial"));
    EXPECT_EQ(schema_version(db.handle()), 0);
}

TEST(Migrate, AFixedMigrationAppliesAfterAFailedOne) {
    TempDir dir;
    Db db(dir / "tasks.db");
    const Migration broken{2, "second", "CREATE TABLE second (x); SELECT * FROM missing;"};
    migrate_error(db.handle(), {base_migration, broken});
    const Migration fixed{2, "second", "CREATE TABLE second (x);"};
    EXPECT_EQ(migrate(db.handle(), {base_migration, fixed}).applied, std::vector<int>{2});
    EXPECT_TRUE(db.handle().tableExists("second"));
}

TEST(Migrate, ConnectionsOnTwoThreadsMigratingAFreshFileAtOnceBothSucceed) {
    for (int round = 0; round < 10; ++round) {
        TempDir dir;
        const std::string path = dir / "tasks.db";
        prepare_database_file(path); // once per process, before any connection (core/db.h)
        constexpr int threads = 2;
        std::vector<MigrationReport> reports(threads);
        std::vector<std::string> errors(threads);
        std::mutex mutex;
        std::condition_variable ready;
        int waiting = 0;
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; ++t)
            workers.emplace_back([&, t] {
                try {
                    Db db(path);
                    { // start together, each with its connection already open
                        std::unique_lock<std::mutex> lock(mutex);
                        ++waiting;
                        ready.notify_all();
                        ready.wait(lock, [&] { return waiting == threads; });
                    }
                    reports[t] = migrate(db.handle());
                } catch (const std::exception &e) {
                    errors[t] = e.what();
                }
            });
        for (std::thread &worker : workers)
            worker.join();
        std::multiset<int> applied;
        for (int t = 0; t < threads; ++t) {
            EXPECT_EQ(errors[t], "") << "thread " << t << " in round " << round;
            EXPECT_EQ(reports[t].schema_version, embedded_versions().back());
            applied.insert(reports[t].applied.begin(), reports[t].applied.end());
        }
        // Every migration applied exactly once, by one thread or the other.
        const std::vector<int> all = embedded_versions();
        EXPECT_EQ(applied, std::multiset<int>(all.begin(), all.end()));
        Db check(path);
        EXPECT_EQ(count_rows(check.handle(), "schema_migrations"),
                  static_cast<int>(embedded_versions().size()));
        EXPECT_EQ(check.handle().execAndGet("PRAGMA integrity_check").getString(), "ok");
    }
}

TEST(PrepareDatabaseFile, CreatesTheFileMode0600WhateverTheUmask) {
    TempDir dir;
    const std::string path = dir / "tasks.db";
    const mode_t old_umask = ::umask(0);
    prepare_database_file(path);
    ::umask(old_umask);
    EXPECT_EQ(file_mode(path), 0600u);
}

TEST(PrepareDatabaseFile, SqliteGivesTheJournalFilesTheSameMode) {
    TempDir dir;
    const std::string path = dir / "tasks.db";
    const mode_t old_umask = ::umask(022);
    prepare_database_file(path);
    {
        Db db(path);
        migrate(db.handle());
        EXPECT_EQ(file_mode(path), 0600u);
        EXPECT_EQ(file_mode(path + "-wal"), 0600u);
        EXPECT_EQ(file_mode(path + "-shm"), 0600u);
    }
    ::umask(old_umask);
}

TEST(PrepareDatabaseFile, CreatesMissingDirectoriesMode0700) {
    TempDir dir;
    const std::string path = dir / "data/nested/tasks.db";
    prepare_database_file(path);
    EXPECT_EQ(file_mode(dir / "data"), 0700u);
    EXPECT_EQ(file_mode(dir / "data/nested"), 0700u);
    EXPECT_EQ(file_mode(path), 0600u);
}

TEST(PrepareDatabaseFile, KeepsAnExistingDatabase) {
    TempDir dir;
    const std::string path = dir / "tasks.db";
    prepare_database_file(path);
    {
        Db db(path);
        migrate(db.handle());
    }
    prepare_database_file(path);
    Db db(path);
    EXPECT_EQ(schema_version(db.handle()), embedded_versions().back());
}

TEST(PrepareDatabaseFile, RefusesAPathBelowAFileNamingIt) {
    TempDir dir;
    dir.write("file.txt", "x");
    try {
        prepare_database_file(dir / "file.txt/tasks.db");
        FAIL() << "a database below a file was accepted";
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::InternalError);
        EXPECT_TRUE(contains(e.what(), dir / "file.txt/tasks.db")) << e.what();
    }
}

TEST(Db, OpensInWalModeWithForeignKeys) {
    TempDir dir;
    Db db(dir / "tasks.db");
    EXPECT_EQ(db.path(), dir / "tasks.db");
    EXPECT_EQ(db.handle().execAndGet("PRAGMA journal_mode").getString(), "wal");
    EXPECT_EQ(db.handle().execAndGet("PRAGMA foreign_keys").getInt(), 1);
    EXPECT_EQ(db.handle().execAndGet("PRAGMA synchronous").getInt(), 1); // NORMAL
}

TEST(Db, FullDurabilitySetsSynchronousFull) {
    TempDir dir;
    Db db(dir / "tasks.db", Durability::Full);
    EXPECT_EQ(db.handle().execAndGet("PRAGMA synchronous").getInt(), 2); // FULL
}

TEST(Db, AQueryGuardResetsAndClearsTheCachedStatement) {
    TempDir dir;
    Db db(dir / "tasks.db");
    db.handle().exec("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2), (3);");
    const std::string sql = "SELECT x, ? FROM t ORDER BY x";
    {
        Query first = db.query(sql);
        first->bind(1, "bound");
        ASSERT_TRUE(first->executeStep());
        EXPECT_EQ(first->getColumn(0).getInt(), 1);
        EXPECT_EQ(first->getColumn(1).getString(), "bound");
    } // left half-read
    Query second = db.query(sql);
    ASSERT_TRUE(second->executeStep());
    EXPECT_EQ(second->getColumn(0).getInt(), 1); // from the start again
    EXPECT_TRUE(second->getColumn(1).isNull());  // the old binding is gone
}

TEST(Db, AHalfReadQueryDoesNotBlockAnotherConnectionsWrite) {
    TempDir dir;
    Db reader(dir / "tasks.db");
    reader.handle().exec("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1), (2);");
    {
        Query select = reader.query("SELECT x FROM t");
        ASSERT_TRUE(select->executeStep());
    }
    Db writer(dir / "tasks.db");
    writer.handle().exec("INSERT INTO t VALUES (3)");
    reader.handle().exec("INSERT INTO t VALUES (4)"); // no stale read transaction in the way
    EXPECT_EQ(count_rows(reader.handle(), "t"), 4);
}

TEST(DatabaseError, AUniquenessViolationIsAConflict) {
    TempDir dir;
    Db db(dir / "tasks.db");
    db.handle().exec("CREATE TABLE t (id TEXT PRIMARY KEY)");
    db.handle().exec("INSERT INTO t VALUES ('a')");
    try {
        db.handle().exec("INSERT INTO t VALUES ('a')");
        FAIL() << "duplicate accepted";
    } catch (const SQLite::Exception &e) {
        EXPECT_EQ(database_error(e).code(), ErrorCode::Conflict);
    }
}

TEST(DatabaseError, ABusyDatabaseIsServiceUnavailable) {
    TempDir dir;
    Db holder(dir / "tasks.db");
    Db waiter(dir / "tasks.db");
    holder.handle().exec("BEGIN IMMEDIATE");
    waiter.handle().setBusyTimeout(0); // fail at once instead of after the 5 s default
    try {
        waiter.handle().exec("BEGIN IMMEDIATE");
        FAIL() << "a second writer got the lock";
    } catch (const SQLite::Exception &e) {
        const Error error = database_error(e);
        EXPECT_EQ(error.code(), ErrorCode::ServiceUnavailable);
        EXPECT_EQ(std::string(error.what()), "the database is busy; retry shortly");
    }
    holder.handle().exec("ROLLBACK");
}

TEST(DatabaseLock, AWriterWaitsForALockHeldBrieflyAndThenGetsIt) {
    TempDir dir;
    Db holder(dir / "tasks.db");
    Db waiter(dir / "tasks.db");
    holder.handle().exec("CREATE TABLE t (x)");
    holder.handle().exec("BEGIN IMMEDIATE");
    // Ours is the handler in effect: sqlite3_busy_handler sets this to 0, SQLite's timeout not.
    EXPECT_EQ(waiter.handle().execAndGet("PRAGMA busy_timeout").getInt(), 0);
    const auto started = std::chrono::steady_clock::now();
    std::thread release([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        holder.handle().exec("INSERT INTO t VALUES (1)");
        holder.handle().exec("COMMIT");
    });
    waiter.handle().exec("BEGIN IMMEDIATE"); // waits in the busy handler, then succeeds
    const auto waited = std::chrono::steady_clock::now() - started;
    release.join();
    EXPECT_GE(waited, std::chrono::milliseconds(150));
    EXPECT_EQ(waiter.handle().execAndGet("SELECT count(*) FROM t").getInt(), 1); // sees the commit
    waiter.handle().exec("COMMIT");
}

TEST(DatabaseLock, AWriterGivesUpAfterTheBusyTimeout) {
    TempDir dir;
    Db holder(dir / "tasks.db");
    Db waiter(dir / "tasks.db");
    holder.handle().exec("BEGIN IMMEDIATE");
    const auto started = std::chrono::steady_clock::now();
    EXPECT_THROW(waiter.handle().exec("BEGIN IMMEDIATE"), SQLite::Exception);
    EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(4900));
    holder.handle().exec("ROLLBACK");
}

TEST(DatabaseError, AnythingElseIsAnInternalError) {
    TempDir dir;
    Db db(dir / "tasks.db");
    try {
        db.handle().exec("SELECT * FROM missing");
        FAIL() << "a missing table was accepted";
    } catch (const SQLite::Exception &e) {
        EXPECT_EQ(database_error(e).code(), ErrorCode::InternalError);
    }
}

TEST(ParseDurability, KnowsFullAndDefaultsToNormal) {
    EXPECT_EQ(parse_durability("full"), Durability::Full);
    EXPECT_EQ(parse_durability("normal"), Durability::Normal);
    EXPECT_EQ(parse_durability(""), Durability::Normal);
}

// Db(StorageConfig): the one way programs open their connections, durability from the config.
TEST(ConfiguredDatabase, OpensTheConfiguredFileWithTheConfiguredDurability) {
    TempDir dir;
    for (const auto &[setting, pragma] : {std::pair<const char *, int>{"full", 2}, {"normal", 1}}) {
        StorageConfig storage;
        storage.database = dir / (std::string(setting) + ".db");
        storage.synchronous = setting;
        Db db(storage);
        EXPECT_EQ(db.path(), storage.database);
        EXPECT_EQ(db.handle().execAndGet("PRAGMA synchronous").getInt(), pragma) << setting;
        EXPECT_EQ(db.handle().execAndGet("PRAGMA journal_mode").getString(), "wal");
        EXPECT_EQ(db.handle().execAndGet("PRAGMA foreign_keys").getInt(), 1);
    }
}

// set_up_database: what each program did by hand (prepare the file, open, migrate), once.
TEST(SetUpDatabase, CreatesThePrivateFileAndItsDirectoryAndAppliesEveryMigration) {
    TempDir dir;
    StorageConfig storage;
    storage.database = dir / "data/nested/tasks.db";
    const MigrationReport first = set_up_database(storage);
    EXPECT_EQ(first.applied, embedded_versions());
    EXPECT_EQ(first.schema_version, embedded_versions().back());
    struct stat file {
    }, directory{};
    ASSERT_EQ(::stat(storage.database.c_str(), &file), 0);
    ASSERT_EQ(::stat((dir / "data/nested").c_str(), &directory), 0);
    EXPECT_EQ(file.st_mode & 0777, 0600u);
    EXPECT_EQ(directory.st_mode & 0777, 0700u);

    const MigrationReport again = set_up_database(storage);
    EXPECT_TRUE(again.applied.empty());
    EXPECT_EQ(again.schema_version, first.schema_version);
}

TEST(SetUpDatabase, ADatabaseThatCannotBeCreatedSaysWhere) {
    TempDir dir;
    const std::string file = dir.write("file.txt", "not a directory");
    StorageConfig storage;
    storage.database = file + "/tasks.db";
    try {
        set_up_database(storage);
        FAIL() << "a database under a regular file was set up";
    } catch (const Error &e) {
        EXPECT_NE(std::string(e.what()).find(storage.database), std::string::npos) << e.what();
    }
}

TEST(OptionalColumns, NullIsNullopt) {
    TempDir dir;
    Db db(dir / "tasks.db");
    SQLite::Statement row(db.handle(), "SELECT NULL, 'text', 42");
    ASSERT_TRUE(row.executeStep());
    EXPECT_EQ(optional_text(row.getColumn(0)), std::nullopt);
    EXPECT_EQ(optional_int(row.getColumn(0)), std::nullopt);
    EXPECT_EQ(optional_text(row.getColumn(1)), "text");
    EXPECT_EQ(optional_int(row.getColumn(2)), 42);
}

// ---- stored data upgraded by a migration ----

// A database as a release before `version` left it: the embedded migrations below `version`.
void migrate_before(SQLite::Database &database, int version) {
    std::vector<Migration> older;
    for (const Migration &migration : embedded_migrations())
        if (migration.version < version)
            older.push_back(migration);
    migrate(database, older);
}

std::string metrics_of(SQLite::Database &database, const std::string &id) {
    SQLite::Statement select(database, "SELECT metrics FROM tasks WHERE id = ?");
    select.bind(1, id);
    EXPECT_TRUE(select.executeStep()) << id;
    return select.getColumn(0).getString();
}

double counter_value(SQLite::Database &database, const std::string &labels) {
    SQLite::Statement select(database, "SELECT value FROM metric_counters "
                                       "WHERE name = 'ai_agent_llm_tokens_total' AND labels = ?");
    select.bind(1, labels);
    return select.executeStep() ? select.getColumn(0).getDouble() : -1;
}

TEST(Migrate, TaskMetricsStoredInTheOldShapeReadAsTheOriginalsNumbers) {
    TempDir dir;
    Db db(dir / "tasks.db");
    migrate_before(db.handle(), 7);
    // Ended under the old schema, so its trigger counted the tokens by direction only.
    db.handle().exec(
        "INSERT INTO tasks (id, task, provider) VALUES ('old', 'list the files', 'openai');"
        "INSERT INTO tasks (id, task, provider) VALUES ('builtin', 'hello', 'builtin');"
        "INSERT INTO tasks (id, task) VALUES ('queued', 'not yet run');"
        "UPDATE tasks SET status = 'completed', started_at = '2026-01-01T00:00:00.000Z', "
        "finished_at = '2026-01-01T00:00:01.000Z', metrics = json('{\"steps_executed\": 3, "
        "\"tools_used\": [\"list_files\", \"read_file\"], \"tool_calls\": {\"list_files\": 2, "
        "\"read_file\": 1}, \"model_calls\": 4, \"tokens_used\": {\"input\": 700, "
        "\"output\": 200, \"total\": 900}}') WHERE id = 'old';"
        "UPDATE tasks SET status = 'completed', metrics = json('{\"steps_executed\": 0, "
        "\"tools_used\": [], \"tokens_used\": {\"input\": 0, \"output\": 0, \"total\": 0}}') "
        "WHERE id = 'builtin';");
    ASSERT_EQ(counter_value(db.handle(), "direction=\"input\""), 700);

    migrate(db.handle());

    EXPECT_EQ(metrics_of(db.handle(), "old"),
              "{\"steps_executed\":3,\"tools_used\":3,\"tool_calls\":{\"list_files\":2,"
              "\"read_file\":1},\"model_calls\":4,\"tokens_used\":900,\"tool_names\":["
              "\"list_files\",\"read_file\"],\"tokens\":{\"input\":700,\"output\":200,"
              "\"total\":900}}");
    EXPECT_EQ(metrics_of(db.handle(), "builtin"),
              "{\"steps_executed\":0,\"tools_used\":0,\"tokens_used\":0,\"tool_names\":[],"
              "\"tokens\":{\"input\":0,\"output\":0,\"total\":0}}");
    SQLite::Statement unrun(db.handle(), "SELECT metrics IS NULL FROM tasks WHERE id = 'queued'");
    ASSERT_TRUE(unrun.executeStep());
    EXPECT_EQ(unrun.getColumn(0).getInt(), 1);
    // The counter by direction became one by direction and provider, from the same tasks.
    EXPECT_EQ(counter_value(db.handle(), "direction=\"input\""), -1);
    EXPECT_EQ(counter_value(db.handle(), "direction=\"input\",provider=\"openai\""), 700);
    EXPECT_EQ(counter_value(db.handle(), "direction=\"output\",provider=\"openai\""), 200);

    // A task ending after the upgrade, in the new shape, adds to its provider's series.
    db.handle().exec(
        "INSERT INTO tasks (id, task, provider) VALUES ('new', 'summarize', 'openai');"
        "UPDATE tasks SET status = 'completed', metrics = json('{\"tools_used\": 1, "
        "\"tool_names\": [\"read_file\"], \"tokens_used\": 15, \"tokens\": {\"input\": 10, "
        "\"output\": 5, \"total\": 15}}') WHERE id = 'new';");
    EXPECT_EQ(counter_value(db.handle(), "direction=\"input\",provider=\"openai\""), 710);
    EXPECT_EQ(counter_value(db.handle(), "direction=\"output\",provider=\"openai\""), 205);
}

TEST(Migrate, ModelSettingsStoredInTheirOwnTableMoveToTheOneOverrideStore) {
    TempDir dir;
    Db db(dir / "tasks.db");
    migrate_before(db.handle(), 8);
    db.handle().exec(
        "INSERT INTO config_overrides (path, value, updated_at) VALUES "
        "('execution.max_steps', '7', '2026-01-01T00:00:00.000Z');"
        "INSERT INTO model_settings (id, provider, model_name, api_key, endpoint, max_tokens, "
        "temperature, updated_at) VALUES (1, 'openai', NULL, 'sk-moved-key', "
        "'https://proxy.example.test/v1', 2048, 1.0, '2026-01-02T00:00:00.000Z');");

    migrate(db.handle());

    SQLite::Statement rows(db.handle(),
                           "SELECT path || '=' || value FROM config_overrides ORDER BY path");
    std::vector<std::string> stored;
    while (rows.executeStep())
        stored.push_back(rows.getColumn(0).getString());
    EXPECT_EQ(stored,
              (std::vector<std::string>{"execution.max_steps=7", "model.api_key=\"sk-moved-key\"",
                                        "model.endpoint=\"https://proxy.example.test/v1\"",
                                        "model.max_tokens=2048", "model.provider=\"openai\"",
                                        "model.temperature=1.0"}));
    EXPECT_FALSE(db.handle().tableExists("model_settings"));
    SQLite::Statement moved_at(db.handle(), "SELECT DISTINCT updated_at FROM config_overrides "
                                            "WHERE path LIKE 'model.%'");
    ASSERT_TRUE(moved_at.executeStep());
    EXPECT_EQ(moved_at.getColumn(0).getString(), "2026-01-02T00:00:00.000Z");
}

TEST(Migrate, ADatabaseWithoutModelSettingsMovesNothing) {
    TempDir dir;
    Db db(dir / "tasks.db");
    migrate_before(db.handle(), 8);
    migrate(db.handle());
    EXPECT_EQ(count_rows(db.handle(), "config_overrides"), 0);
}

} // namespace
} // namespace tr
