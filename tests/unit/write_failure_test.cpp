// core/db: which SQLite failures mean the database cannot be written for now (writers back off
// and retry) and which are errors of the statement itself. (Opening, statements and
// database_error are tested in migrate_test.cpp.)
#include "core/db.h"

#include "test_support.h"

#include <sqlite3.h>

#include <gtest/gtest.h>

#include <functional>
#include <string>

namespace tr {
namespace {

using test::TempDir;

// The SQLite::Exception that `statement` throws; fails the test when it throws none.
SQLite::Exception failure_of(const std::function<void()> &statement) {
    try {
        statement();
    } catch (const SQLite::Exception &e) {
        return e;
    }
    ADD_FAILURE() << "the statement succeeded";
    return SQLite::Exception("no failure", SQLITE_OK);
}

TEST(IsWriteFailure, AFullDatabaseIsOne) {
    TempDir dir;
    Db db(dir / "tasks.db");
    db.handle().exec("CREATE TABLE t (x BLOB)");
    // A file that may not grow beyond the pages it has (SQLite never sets the limit below
    // them): what a full disk looks like to SQLite.
    db.handle().exec("PRAGMA max_page_count = 1");
    const SQLite::Exception e =
        failure_of([&] { db.handle().exec("INSERT INTO t VALUES (zeroblob(1000000))"); });
    EXPECT_EQ(e.getErrorCode(), SQLITE_FULL);
    EXPECT_TRUE(is_write_failure(e));
}

TEST(IsWriteFailure, AReadOnlyDatabaseIsOne) {
    TempDir dir;
    {
        Db db(dir / "tasks.db");
        db.handle().exec("CREATE TABLE t (x INTEGER)");
    }
    SQLite::Database read_only(dir / "tasks.db", SQLite::OPEN_READONLY);
    const SQLite::Exception e = failure_of([&] { read_only.exec("INSERT INTO t VALUES (1)"); });
    EXPECT_EQ(e.getErrorCode(), SQLITE_READONLY);
    EXPECT_TRUE(is_write_failure(e));
}

TEST(IsWriteFailure, ADatabaseThatCannotBeOpenedIsOne) {
    TempDir dir;
    const SQLite::Exception e = failure_of([&] { Db db(dir / "missing/tasks.db"); });
    EXPECT_EQ(e.getErrorCode(), SQLITE_CANTOPEN);
    EXPECT_TRUE(is_write_failure(e));
}

TEST(IsWriteFailure, ABusyDatabaseIsNotOne) {
    // Busy passes by itself, soon: the caller's answer is ServiceUnavailable, not a back-off.
    TempDir dir;
    Db holder(dir / "tasks.db");
    Db waiter(dir / "tasks.db");
    holder.handle().exec("BEGIN IMMEDIATE");
    waiter.handle().setBusyTimeout(0); // fail at once instead of after the 5 s default
    const SQLite::Exception e = failure_of([&] { waiter.handle().exec("BEGIN IMMEDIATE"); });
    EXPECT_EQ(e.getErrorCode(), SQLITE_BUSY);
    EXPECT_FALSE(is_write_failure(e));
    holder.handle().exec("ROLLBACK");
}

TEST(IsWriteFailure, ErrorsOfTheStatementItselfAreNotOnes) {
    TempDir dir;
    Db db(dir / "tasks.db");
    db.handle().exec("CREATE TABLE t (id TEXT PRIMARY KEY)");
    db.handle().exec("INSERT INTO t VALUES ('a')");
    EXPECT_FALSE(
        is_write_failure(failure_of([&] { db.handle().exec("INSERT INTO t VALUES ('a')"); })));
    EXPECT_FALSE(
        is_write_failure(failure_of([&] { db.handle().exec("INSERT INTO nowhere VALUES (1)"); })));
    EXPECT_FALSE(is_write_failure(failure_of([&] { db.handle().exec("INSERT INTO t"); })));
}

} // namespace
} // namespace tr
