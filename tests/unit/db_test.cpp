// core/db: SQLite's failures as the service's errors. A full disk, an I/O error and a read-only
// database are 503s that say which, with a Retry-After longer than a busy database's, never
// 500s; is_write_failure tells a writer (the runner) when to stop and back off. Each is made to
// happen for real where SQLite can be made to fail that way (max_page_count, a read-only
// connection, RLIMIT_FSIZE, a read-only tmpfs); every extended code through an exception
// carrying it. (The older DatabaseError tests, busy and conflict, are in migrate_test.cpp.)
#include "core/db.h"

#include "test_support.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <SQLiteCpp/Transaction.h>
#include <gtest/gtest.h>

#include <filesystem>

#include <string>
#include <vector>

namespace tr {
namespace {

using test::SmallTmpfs;
using test::TempDir;

const int disk_full_codes[] = {SQLITE_FULL};
const int read_only_codes[] = {SQLITE_READONLY,          SQLITE_READONLY_RECOVERY,
                               SQLITE_READONLY_CANTLOCK, SQLITE_READONLY_ROLLBACK,
                               SQLITE_READONLY_DBMOVED,  SQLITE_READONLY_CANTINIT,
                               SQLITE_READONLY_DIRECTORY};
const int io_error_codes[] = {SQLITE_IOERR,
                              SQLITE_IOERR_READ,
                              SQLITE_IOERR_SHORT_READ,
                              SQLITE_IOERR_WRITE,
                              SQLITE_IOERR_FSYNC,
                              SQLITE_IOERR_DIR_FSYNC,
                              SQLITE_IOERR_TRUNCATE,
                              SQLITE_IOERR_FSTAT,
                              SQLITE_IOERR_UNLOCK,
                              SQLITE_IOERR_RDLOCK,
                              SQLITE_IOERR_DELETE,
                              SQLITE_IOERR_BLOCKED,
                              SQLITE_IOERR_NOMEM,
                              SQLITE_IOERR_ACCESS,
                              SQLITE_IOERR_CHECKRESERVEDLOCK,
                              SQLITE_IOERR_LOCK,
                              SQLITE_IOERR_CLOSE,
                              SQLITE_IOERR_DIR_CLOSE,
                              SQLITE_IOERR_SHMOPEN,
                              SQLITE_IOERR_SHMSIZE,
                              SQLITE_IOERR_SHMLOCK,
                              SQLITE_IOERR_SHMMAP,
                              SQLITE_IOERR_SEEK,
                              SQLITE_IOERR_DELETE_NOENT,
                              SQLITE_IOERR_MMAP,
                              SQLITE_IOERR_GETTEMPPATH,
                              SQLITE_IOERR_CONVPATH,
                              SQLITE_IOERR_VNODE,
                              SQLITE_IOERR_AUTH,
                              SQLITE_IOERR_BEGIN_ATOMIC,
                              SQLITE_IOERR_COMMIT_ATOMIC,
                              SQLITE_IOERR_ROLLBACK_ATOMIC,
                              SQLITE_IOERR_DATA,
                              SQLITE_IOERR_CORRUPTFS};
const int cannot_open_codes[] = {SQLITE_CANTOPEN,          SQLITE_CANTOPEN_NOTEMPDIR,
                                 SQLITE_CANTOPEN_ISDIR,    SQLITE_CANTOPEN_FULLPATH,
                                 SQLITE_CANTOPEN_CONVPATH, SQLITE_CANTOPEN_DIRTYWAL,
                                 SQLITE_CANTOPEN_SYMLINK};

// The failure a statement throws, or a test failure when it succeeds.
template <typename Statement> SQLite::Exception failure_of(Statement statement) {
    try {
        statement();
    } catch (const SQLite::Exception &e) {
        return e;
    }
    ADD_FAILURE() << "the statement succeeded";
    return SQLite::Exception("succeeded", SQLITE_OK);
}

void expect_write_failure(const SQLite::Exception &e, const std::string &message) {
    const Error error = database_error(e);
    EXPECT_EQ(error.code(), ErrorCode::ServiceUnavailable) << e.what();
    EXPECT_EQ(error.http_status(), 503);
    EXPECT_EQ(std::string(error.what()), message);
    EXPECT_EQ(error.retry_after(), write_failure_retry);
    EXPECT_GT(error.retry_after(), std::chrono::seconds(1));
    EXPECT_TRUE(is_write_failure(e)) << e.what();
}

// An auditor's sqlite3 left in a transaction holds checkpoints back and the WAL grows; once it
// ends, the WAL is cut back instead of keeping its largest size for good.
TEST(Db, AWalGrownBehindAnOpenReadIsCutBackOnceTheReadEnds) {
    TempDir dir;
    const std::string path = dir / "tasks.db";
    Db db(path);
    db.handle().exec("CREATE TABLE t (x BLOB)");
    const auto wal_bytes = [&] { return std::filesystem::file_size(path + "-wal"); };
    {
        SQLite::Database reader(path, SQLite::OPEN_READONLY);
        SQLite::Transaction open_read(reader); // BEGIN; the SELECT makes it a read snapshot
        reader.execAndGet("SELECT count(*) FROM t");
        for (int i = 0; i < 40; ++i)
            db.handle().exec("INSERT INTO t VALUES (randomblob(500000))"); // 20 MB
        EXPECT_GT(wal_bytes(), static_cast<std::uintmax_t>(2 * wal_size_limit_bytes));
    } // the reader ends (its transaction rolls back)
    db.handle().exec("PRAGMA wal_checkpoint(PASSIVE)");
    db.handle().exec("INSERT INTO t VALUES (1)"); // the WAL starts over: it is cut back
    EXPECT_LE(wal_bytes(), static_cast<std::uintmax_t>(wal_size_limit_bytes));
}

TEST(DatabaseError, AFullDatabaseIsServiceUnavailableAndSaysSo) {
    TempDir dir;
    Db db(dir / "tasks.db");
    db.handle().exec("CREATE TABLE t (x BLOB)");
    // SQLite's own limit gives the SQLITE_FULL a full disk gives (a real one: write_probe_test).
    const int pages = db.handle().execAndGet("PRAGMA page_count").getInt();
    db.handle().exec("PRAGMA max_page_count = " + std::to_string(pages + 2));
    const SQLite::Exception e = failure_of([&] {
        for (int i = 0; i < 10; ++i)
            db.handle().exec("INSERT INTO t VALUES (randomblob(4000))");
    });
    EXPECT_EQ(e.getErrorCode(), SQLITE_FULL);
    expect_write_failure(e, "the database's disk is full");
    EXPECT_EQ(write_failure_of(e), WriteFailure::DiskFull);
}

TEST(DatabaseError, AReadOnlyDatabaseIsServiceUnavailableAndSaysSo) {
    TempDir dir;
    {
        Db db(dir / "tasks.db");
        db.handle().exec("CREATE TABLE t (x)");
    }
    SQLite::Database read_only(dir / "tasks.db", SQLite::OPEN_READONLY);
    const SQLite::Exception e = failure_of([&] { read_only.exec("INSERT INTO t VALUES (1)"); });
    EXPECT_EQ(e.getErrorCode(), SQLITE_READONLY);
    expect_write_failure(e, "the database cannot be written: read-only");
    EXPECT_EQ(write_failure_of(e), WriteFailure::ReadOnly);
}

// What the child of AnIoError... reports through its exit status.
enum IoErrorOutcome { AsExpected = 0, NoError = 10, NotAnIoError = 11, WrongMapping = 12 };

IoErrorOutcome write_past_the_file_size_limit(const std::string &path) {
    ::signal(SIGXFSZ, SIG_IGN); // write(2) then fails with EFBIG instead of killing us
    Db db(path);
    const rlimit limit{64 * 1024, 64 * 1024}; // the WAL may not grow past 64 KiB
    ::setrlimit(RLIMIT_FSIZE, &limit);
    try {
        db.handle().exec("INSERT INTO t VALUES (randomblob(1000000))");
    } catch (const SQLite::Exception &e) {
        if (e.getExtendedErrorCode() != SQLITE_IOERR_WRITE)
            return NotAnIoError;
        const Error error = database_error(e);
        const bool mapped =
            error.code() == ErrorCode::ServiceUnavailable &&
            std::string(error.what()) == "the database cannot be read or written: I/O error" &&
            is_write_failure(e) && write_failure_of(e) == WriteFailure::IoError;
        return mapped ? AsExpected : WrongMapping;
    }
    return NoError;
}

TEST(DatabaseError, AnIoErrorIsServiceUnavailableAndSaysSo) {
    TempDir dir;
    {
        Db db(dir / "tasks.db");
        db.handle().exec("CREATE TABLE t (x BLOB)");
    }
    // In a child: RLIMIT_FSIZE binds the whole process. A write past it fails with EFBIG, which
    // SQLite reports as SQLITE_IOERR_WRITE (ENOSPC would be SQLITE_FULL).
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0)
        ::_exit(write_past_the_file_size_limit(dir / "tasks.db"));
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status)) << status;
    EXPECT_EQ(WEXITSTATUS(status), AsExpected);
}

TEST(DatabaseError, EveryExtendedCodeOfAWriteFailureIsServiceUnavailable) {
    // SQLiteCpp carries what the failed call returned, an extended code when extended result
    // codes are on; each must be read by its primary code.
    const auto check = [](const auto &codes, const std::string &message, WriteFailure failure) {
        for (const int code : codes) {
            const SQLite::Exception e("failed", code);
            expect_write_failure(e, message);
            EXPECT_EQ(write_failure_of(e), failure) << code;
        }
    };
    check(disk_full_codes, "the database's disk is full", WriteFailure::DiskFull);
    check(read_only_codes, "the database cannot be written: read-only", WriteFailure::ReadOnly);
    check(io_error_codes, "the database cannot be read or written: I/O error",
          WriteFailure::IoError);
    check(cannot_open_codes, "the database's files cannot be opened", WriteFailure::CannotOpen);
}

TEST(DatabaseError, OutOfMemoryAndALockRaceAreServiceUnavailableButNoWriteFailure) {
    const std::vector<std::pair<int, std::string>> cases = {
        {SQLITE_NOMEM, "the database is out of memory; retry shortly"},
        {SQLITE_PROTOCOL, "the database's locks kept changing; retry shortly"},
        {SQLITE_BUSY, "the database is busy; retry shortly"},
        {SQLITE_BUSY_SNAPSHOT, "the database is busy; retry shortly"},
        {SQLITE_LOCKED_SHAREDCACHE, "the database is busy; retry shortly"},
    };
    for (const auto &[code, message] : cases) {
        const SQLite::Exception e("failed", code);
        const Error error = database_error(e);
        EXPECT_EQ(error.code(), ErrorCode::ServiceUnavailable) << code;
        EXPECT_EQ(std::string(error.what()), message);
        EXPECT_EQ(error.retry_after(), std::chrono::seconds(0)) << code; // HTTP's default: 1 s
        EXPECT_FALSE(is_write_failure(e)) << code;
    }
}

TEST(DatabaseError, ACorruptDatabaseAndOtherFailuresStayInternalErrors) {
    for (const int code : {SQLITE_CORRUPT, SQLITE_NOTADB, SQLITE_ERROR, SQLITE_MISUSE,
                           SQLITE_CONSTRAINT_CHECK, -1}) {
        const SQLite::Exception e("failed", code);
        EXPECT_EQ(database_error(e).code(), ErrorCode::InternalError) << code;
        EXPECT_FALSE(is_write_failure(e)) << code;
        EXPECT_EQ(write_failure_of(e), std::nullopt) << code;
    }
}

// A database left on a disk that is now read-only, as after a crash or a shutdown on a
// filesystem the kernel remounted read-only: its -wal and -shm are still there.
TEST(PrepareDatabaseFile, AcceptsAnExistingDatabaseOnAReadOnlyDiskWhoseWritesThen503) {
    SmallTmpfs disk(4 << 20);
    if (!disk.mounted())
        GTEST_SKIP() << disk.why();
    const std::string path = disk / "tasks.db";
    prepare_database_file(path);
    {
        Db db(path);
        db.handle().exec("CREATE TABLE t (x); INSERT INTO t VALUES (1)");
    }
    const pid_t child = ::fork(); // a connection that ends without closing: -wal and -shm stay
    ASSERT_GE(child, 0);
    if (child == 0) {
        Db db(path);
        db.handle().exec("INSERT INTO t VALUES (2)");
        ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(test::exists(path + "-wal"));
    disk.remount(true);

    EXPECT_NO_THROW(prepare_database_file(path)); // open(O_RDWR) fails with EROFS: left alone
    Db db(path);
    EXPECT_EQ(db.handle().execAndGet("SELECT count(*) FROM t").getInt(), 2); // reads work
    const SQLite::Exception e = failure_of([&] { db.handle().exec("INSERT INTO t VALUES (3)"); });
    expect_write_failure(e, "the database cannot be written: read-only");
}

TEST(PrepareDatabaseFile, StillRefusesToCreateADatabaseOnAReadOnlyDisk) {
    SmallTmpfs disk(1 << 20);
    if (!disk.mounted())
        GTEST_SKIP() << disk.why();
    disk.remount(true);
    try {
        prepare_database_file(disk / "new.db");
        FAIL() << "a database was created on a read-only disk";
    } catch (const Error &e) {
        EXPECT_EQ(e.code(), ErrorCode::InternalError);
        EXPECT_TRUE(test::contains(e.what(), "Read-only file system")) << e.what();
    }
}

} // namespace
} // namespace tr
