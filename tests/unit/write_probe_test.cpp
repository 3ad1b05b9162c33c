// core/write_probe: whether the database can be written now. A full disk is seen even while the
// WAL still has room for small transactions (measured on a real full tmpfs: a one-row update
// alone would have said all is well), a read-only database and disk too; the probe leaves no
// file behind and never grows the database; one probe a second serves every thread.
#include "core/write_probe.h"

#include "core/migrate.h"
#include "test_support.h"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>
#include <set>
#include <string>

namespace tr {
namespace {

using test::SmallTmpfs;
using test::TempDir;

std::set<std::string> entries_of(const std::string &directory) {
    std::set<std::string> names;
    for (const auto &entry : std::filesystem::directory_iterator(directory))
        names.insert(entry.path().filename().string());
    return names;
}

TEST(WriteProbe, AWritableDatabasePassesAndLeavesNoFileBehind) {
    TempDir dir;
    Db db(dir / "tasks.db");
    migrate(db.handle());
    const std::set<std::string> before = entries_of(dir.path());
    const TimePoint now = Clock::now();
    EXPECT_EQ(probe_writes(db, now), std::nullopt);
    EXPECT_EQ(entries_of(dir.path()), before); // the reservation had no name
    EXPECT_EQ(db.handle().execAndGet("SELECT probed_at FROM write_probe").getString(),
              format_utc(now));
}

TEST(WriteProbe, CommitsItsRowEachTimeAndKeepsOnlyOne) {
    TempDir dir;
    Db db(dir / "tasks.db");
    migrate(db.handle());
    const TimePoint first = Clock::now();
    for (int i = 0; i < 50; ++i)
        ASSERT_EQ(probe_writes(db, first + std::chrono::seconds(i)), std::nullopt);
    EXPECT_EQ(db.handle().execAndGet("SELECT count(*) FROM write_probe").getInt(), 1);
    // Committed, so another connection sees the last probe's time.
    Db other(dir / "tasks.db");
    EXPECT_EQ(other.handle().execAndGet("SELECT probed_at FROM write_probe").getString(),
              format_utc(first + std::chrono::seconds(49)));
}

TEST(WriteProbe, AConnectionThatMayNotWriteIsReportedAsReadOnly) {
    TempDir dir;
    Db db(dir / "tasks.db");
    migrate(db.handle());
    db.handle().exec("PRAGMA query_only = ON"); // its writes fail with SQLITE_READONLY
    const std::optional<Error> failure = probe_writes(db, Clock::now());
    ASSERT_TRUE(failure);
    EXPECT_EQ(failure->code(), ErrorCode::ServiceUnavailable);
    EXPECT_EQ(std::string(failure->what()), "the database cannot be written: read-only");
}

TEST(WriteProbe, AMissingTableIsAnInternalErrorForTheLog) {
    TempDir dir;
    Db db(dir / "tasks.db"); // not migrated
    const std::optional<Error> failure = probe_writes(db, Clock::now());
    ASSERT_TRUE(failure);
    EXPECT_EQ(failure->code(), ErrorCode::InternalError);
    EXPECT_TRUE(test::contains(failure->what(), "write_probe")) << failure->what();
}

TEST(WriteProbe, AnswersFromTheLastProbeUntilItIsMaxAgeOld) {
    TempDir dir;
    Db db(dir / "tasks.db");
    migrate(db.handle());
    std::mutex write_gate;
    WriteProbe hourly(std::chrono::hours(1));
    EXPECT_EQ(hourly.check(db, write_gate), std::nullopt);
    db.handle().exec("PRAGMA query_only = ON");
    EXPECT_EQ(hourly.check(db, write_gate), std::nullopt); // the cached answer
    WriteProbe always(std::chrono::milliseconds(0));
    const std::optional<Error> failure = always.check(db, write_gate);
    ASSERT_TRUE(failure);
    EXPECT_EQ(std::string(failure->what()), "the database cannot be written: read-only");
    db.handle().exec("PRAGMA query_only = OFF");
    EXPECT_EQ(always.check(db, write_gate), std::nullopt); // and sees the recovery at once
}

// What the probe is for: on a full disk, a small committed write is no proof. After a
// checkpoint SQLite writes new transactions over the WAL's old frames, which needs no new
// block, so a one-row update and a 400 KB transaction both commit on a disk with 0 bytes free.
TEST(WriteProbe, AFullDiskIsReportedThoughTheWalStillTakesSmallWrites) {
    SmallTmpfs disk(8 << 20);
    if (!disk.mounted())
        GTEST_SKIP() << disk.why();
    Db db(disk / "tasks.db");
    migrate(db.handle());
    db.handle().exec("CREATE TABLE payload (x BLOB)");
    db.handle().exec("BEGIN");
    for (int i = 0; i < 500; ++i) // 2 MB of WAL
        db.handle().exec("INSERT INTO payload VALUES (randomblob(4000))");
    db.handle().exec("COMMIT");
    db.handle().exec("PRAGMA wal_checkpoint(PASSIVE)"); // the WAL's frames may now be reused
    disk.fill();

    db.handle().exec("UPDATE write_probe SET probed_at = 'a tiny write'"); // commits: no proof
    db.handle().exec("BEGIN");
    for (int i = 0; i < 100; ++i)
        db.handle().exec("INSERT INTO payload VALUES (randomblob(4000))");
    db.handle().exec("COMMIT"); // 400 KB, still within the old WAL
    const std::optional<Error> failure = probe_writes(db, Clock::now());
    ASSERT_TRUE(failure) << "the probe did not see the full disk";
    EXPECT_EQ(failure->code(), ErrorCode::ServiceUnavailable);
    EXPECT_EQ(std::string(failure->what()), "the database's disk is full");

    disk.remove_filler();
    EXPECT_EQ(probe_writes(db, Clock::now()), std::nullopt);
    EXPECT_EQ(db.handle().execAndGet("PRAGMA integrity_check").getString(), "ok");
    EXPECT_EQ(db.handle().execAndGet("SELECT count(*) FROM payload").getInt(), 600);
}

TEST(WriteProbe, AReadOnlyDiskIsReportedAsReadOnly) {
    SmallTmpfs disk(4 << 20);
    if (!disk.mounted())
        GTEST_SKIP() << disk.why();
    const pid_t child = ::fork(); // ends without closing: -wal and -shm stay, as after a crash
    ASSERT_GE(child, 0);
    if (child == 0) {
        Db db(disk / "tasks.db");
        migrate(db.handle());
        ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    disk.remount(true);
    Db db(disk / "tasks.db");
    const std::optional<Error> failure = probe_writes(db, Clock::now());
    ASSERT_TRUE(failure);
    EXPECT_EQ(std::string(failure->what()), "the database cannot be written: read-only");
}

} // namespace
} // namespace tr
