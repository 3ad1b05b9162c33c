// core/group_commit: writes handed over by many threads are committed by one thread, in the
// order each thread handed them over; write() returns only once committed, post() says how its
// write ended; a write that throws is undone alone, and a transaction that fails takes every
// write of its group with it.
#include "core/group_commit.h"

#include "core/migrate.h"
#include "test_support.h"

#include <SQLiteCpp/Exception.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace tr {
namespace {

class GroupCommitterTest : public ::testing::Test {
protected:
    GroupCommitterTest() {
        storage_.database = dir_ / "writes.db";
        prepare_database_file(storage_.database);
        db_ = std::make_unique<Db>(storage_.database);
        db_->handle().exec("CREATE TABLE log (writer INTEGER, n INTEGER, UNIQUE (writer, n))");
    }

    // Inserts (writer, n).
    static GroupCommitter::Write insert(int writer, int n) {
        return [writer, n](Db &db) {
            Query statement = db.query("INSERT INTO log (writer, n) VALUES (?, ?)");
            statement->bind(1, writer);
            statement->bind(2, n);
            statement->exec();
        };
    }

    int rows() { return db_->handle().execAndGet("SELECT count(*) FROM log").getInt(); }

    test::TempDir dir_;
    StorageConfig storage_;
    Log log_{"group_committer_test", LogLevel::Error};
    std::unique_ptr<Db> db_;
};

TEST_F(GroupCommitterTest, EachThreadsWritesAreCommittedInTheOrderItHandedThemOver) {
    constexpr int threads = 6, per_thread = 50;
    std::atomic<int> commits{0};
    {
        GroupCommitter writes(storage_, log_, "test", {256, nullptr, [&] { ++commits; }});
        std::vector<std::thread> writers;
        for (int t = 0; t < threads; ++t)
            writers.emplace_back([&, t] {
                for (int n = 0; n < per_thread; ++n) {
                    if (n % 10 == 9) { // now and then one that waits, as a step's start does
                        writes.write(insert(t, n));
                        Db reader(storage_.database); // committed: any connection sees it
                        EXPECT_EQ(reader.handle()
                                      .execAndGet("SELECT count(*) FROM log WHERE writer = " +
                                                  std::to_string(t))
                                      .getInt(),
                                  n + 1);
                    } else {
                        writes.post(insert(t, n),
                                    [](const std::exception_ptr &error) { EXPECT_FALSE(error); });
                    }
                }
            });
        for (std::thread &writer : writers)
            writer.join();
    } // the destructor commits what is still queued
    EXPECT_EQ(rows(), threads * per_thread);
    // In order per thread: rowids rise with n for each writer.
    SQLite::Statement select(db_->handle(), "SELECT writer, n FROM log ORDER BY rowid");
    std::map<int, int> last;
    while (select.executeStep()) {
        const int writer = select.getColumn(0).getInt(), n = select.getColumn(1).getInt();
        EXPECT_EQ(n, last.count(writer) ? last[writer] + 1 : 0) << "writer " << writer;
        last[writer] = n;
    }
    EXPECT_GE(commits.load(), 1);
    EXPECT_LE(commits.load(), threads * per_thread);
}

TEST_F(GroupCommitterTest, AWriteThatThrowsIsUndoneAloneAndTheCallerGetsItsError) {
    GroupCommitter writes(storage_, log_, "test", {});
    writes.write(insert(1, 1));
    std::exception_ptr duplicate;
    writes.post(
        [](Db &db) {
            insert(1, 2)(db); // undone with the rest of this write
            insert(1, 1)(db); // a uniqueness violation
        },
        [&](const std::exception_ptr &error) { duplicate = error; });
    writes.write(insert(1, 3));
    ASSERT_TRUE(duplicate);
    EXPECT_THROW(std::rethrow_exception(duplicate), SQLite::Exception);
    EXPECT_THROW(writes.write([](Db &) { throw std::runtime_error("refused"); }),
                 std::runtime_error);
    EXPECT_EQ(rows(), 2); // (1, 1) and (1, 3)
}

TEST_F(GroupCommitterTest, WithoutADatabaseEveryWriteFailsAndNoneHangs) {
    StorageConfig missing;
    missing.database = dir_ / "missing/directory/writes.db"; // SQLite cannot create it
    std::atomic<bool> committed{false};
    GroupCommitter writes(missing, log_, "test", {256, nullptr, [&] { committed = true; }});
    EXPECT_ANY_THROW(writes.write([](Db &) {}));
    std::exception_ptr posted;
    writes.post([](Db &) {}, [&](const std::exception_ptr &error) { posted = error; });
    EXPECT_ANY_THROW(writes.write([](Db &) {}));
    EXPECT_TRUE(posted);
    EXPECT_FALSE(committed);
}

TEST_F(GroupCommitterTest, AWriteThatEndsTheTransactionFailsEveryWriteOfItsGroup) {
    // SQLite ends the whole transaction itself on an I/O error; a ROLLBACK does the same here.
    GroupCommitter writes(storage_, log_, "test", {});
    std::atomic<bool> hold{true}, holding{false};
    std::thread holder([&] { // keeps the committer busy until the group below is queued
        writes.write([&](Db &) {
            holding = true;
            while (hold)
                std::this_thread::yield();
        });
    });
    while (!holding)
        std::this_thread::yield();
    std::vector<std::exception_ptr> errors(3);
    std::atomic<int> ended{0};
    const auto record = [&](int i) {
        return [&, i](const std::exception_ptr &error) {
            errors[i] = error;
            ++ended;
        };
    };
    writes.post(insert(2, 1), record(0));
    writes.post([](Db &db) { db.handle().exec("ROLLBACK"); }, record(1));
    writes.post(insert(2, 2), record(2));
    hold = false;
    holder.join();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (ended < 3 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::yield();
    ASSERT_EQ(ended.load(), 3);
    writes.write(insert(2, 3)); // a transaction of its own, after
    for (const std::exception_ptr &error : errors)
        EXPECT_TRUE(error);
    EXPECT_EQ(rows(), 1);
}

} // namespace
} // namespace tr
