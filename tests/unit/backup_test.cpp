// core/backup: an online copy made while another connection writes holds every task committed
// before it started and passes integrity_check; FILE is never overwritten unless asked; restore
// refuses while another process has the database open, refuses files that are not a sound Task
// Runner database (leaving the database as it was), and otherwise replaces it, keeping the old.
#include "core/backup.h"

#include "core/db.h"
#include "core/error.h"
#include "core/migrate.h"
#include "test_support.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

namespace tr {
namespace {

using test::TempDir;

class BackupTest : public ::testing::Test {
protected:
    BackupTest() : path_(dir_ / "data/tasks.db") {
        prepare_database_file(path_);
        Db db(path_);
        migrate(db.handle());
    }

    static void add_tasks(const std::string &path, int count, const std::string &prefix) {
        Db db(path);
        for (int i = 0; i < count; ++i) {
            Query insert = db.query("INSERT INTO tasks (id, task) VALUES (?, 'work')");
            insert->bind(1, prefix + std::to_string(i));
            insert->exec();
        }
    }

    static long long tasks_in(const std::string &path) {
        SQLite::Database db(path, SQLite::OPEN_READONLY);
        SQLite::Statement count(db, "SELECT count(*) FROM tasks");
        count.executeStep();
        return count.getColumn(0).getInt64();
    }

    static std::string integrity_of(const std::string &path) {
        SQLite::Database db(path, SQLite::OPEN_READONLY);
        SQLite::Statement check(db, "PRAGMA integrity_check");
        check.executeStep();
        return check.getColumn(0).getString();
    }

    // Files in `directory` whose name starts with a dot: temporaries left behind.
    static int hidden_files(const std::string &directory) {
        int found = 0;
        for (const auto &entry : std::filesystem::directory_iterator(directory))
            found += entry.path().filename().string().front() == '.';
        return found;
    }

    template <typename Call> static ErrorCode error_of(Call call) {
        try {
            call();
        } catch (const Error &e) {
            return e.code();
        }
        ADD_FAILURE() << "no error";
        return ErrorCode::InternalError;
    }

    TempDir dir_;
    std::string path_;
};

TEST_F(BackupTest, ACopyMadeWhileAnotherConnectionWritesHoldsWhatWasCommittedBefore) {
    add_tasks(path_, 200, "before-");
    std::atomic<bool> stop{false};
    std::atomic<int> written{0};
    std::thread writer([&] {
        Db db(path_);
        while (!stop) {
            Query insert = db.query("INSERT INTO tasks (id, task) VALUES (?, 'during')");
            insert->bind(1, "during-" + std::to_string(written.load()));
            insert->exec();
            ++written;
        }
    });
    test::wait_until([&] { return written > 20; });
    const long long committed = tasks_in(path_);
    const std::string target = dir_ / "backups/copy.db";
    std::filesystem::create_directories(dir_ / "backups");
    const BackupReport report = back_up_database(path_, target, false);
    const int after = written;
    stop = true;
    writer.join();
    EXPECT_GE(report.tasks, committed);
    EXPECT_LE(report.tasks, 200 + after);
    EXPECT_EQ(tasks_in(target), report.tasks);
    EXPECT_EQ(integrity_of(target), "ok");
    EXPECT_EQ(report.schema_version, embedded_migrations().back().version);
    struct stat file {};
    ASSERT_EQ(::stat(target.c_str(), &file), 0);
    EXPECT_EQ(file.st_mode & 0777, 0600u) << "it holds key hashes";
    EXPECT_EQ(report.bytes, file.st_size);
    EXPECT_FALSE(test::exists(target + "-wal")) << "a single file";
    EXPECT_EQ(hidden_files(dir_ / "backups"), 0);
}

TEST_F(BackupTest, AnExistingFileIsOverwrittenOnlyWhenAsked) {
    const std::string target = dir_.write("copy.db", "precious");
    EXPECT_EQ(error_of([&] { back_up_database(path_, target, false); }), ErrorCode::Conflict);
    EXPECT_EQ(test::read_text(target), "precious");
    back_up_database(path_, target, true);
    EXPECT_EQ(integrity_of(target), "ok");
    EXPECT_EQ(error_of([&] { back_up_database(dir_ / "none.db", dir_ / "x.db", false); }),
              ErrorCode::InvalidRequest);
    EXPECT_FALSE(test::exists(dir_ / "x.db"));
}

// --force onto the live database would rename a copy over the file the stack has open.
TEST_F(BackupTest, TheDatabaseItselfIsNeverTheTargetEvenWithForce) {
    add_tasks(path_, 3, "kept-");
    struct stat before {};
    ASSERT_EQ(::stat(path_.c_str(), &before), 0);
    const std::string link = dir_ / "hard-link.db";
    std::filesystem::create_hard_link(path_, link);
    Db open_meanwhile(path_); // the stack: its -wal is there
    ASSERT_TRUE(test::exists(path_ + "-wal"));
    for (const std::string &target : {path_, link, path_ + "-wal", path_ + "-shm"})
        EXPECT_EQ(error_of([&] { back_up_database(path_, target, true); }),
                  ErrorCode::InvalidRequest)
            << target;
    struct stat after {};
    ASSERT_EQ(::stat(path_.c_str(), &after), 0);
    EXPECT_EQ(after.st_ino, before.st_ino) << "the live file was not replaced";
    EXPECT_EQ(tasks_in(path_), 3);
    EXPECT_EQ(hidden_files(dir_ / "data"), 0);
    // A symlink named FILE is replaced itself, not followed: the database stays.
    const std::string symlink = dir_ / "symlink.db";
    std::filesystem::create_symlink(path_, symlink);
    back_up_database(path_, symlink, true);
    EXPECT_FALSE(std::filesystem::is_symlink(symlink));
    EXPECT_EQ(tasks_in(symlink), 3);
    ASSERT_EQ(::stat(path_.c_str(), &after), 0);
    EXPECT_EQ(after.st_ino, before.st_ino);
}

TEST_F(BackupTest, RestoreReplacesTheDatabaseAndKeepsTheOldOne) {
    add_tasks(path_, 5, "backed-up-");
    const std::string backup = dir_ / "copy.db";
    back_up_database(path_, backup, false);
    add_tasks(path_, 3, "after-");
    const RestoreReport report = restore_database(path_, backup);
    EXPECT_EQ(report.tasks, 5);
    EXPECT_EQ(tasks_in(path_), 5);
    ASSERT_FALSE(report.replaced_as.empty());
    EXPECT_EQ(tasks_in(report.replaced_as), 8) << "the old one, with what its WAL held";
    EXPECT_FALSE(test::exists(path_ + "-wal"));
    EXPECT_EQ(hidden_files(dir_ / "data"), 0);
    Db reopened(path_); // the stack's next start: WAL again, migrations up to date
    EXPECT_EQ(migrate(reopened.handle()).applied.size(), 0u);
}

TEST_F(BackupTest, RestoreRefusesWhileAnotherProcessHasTheDatabaseOpen) {
    const std::string backup = dir_ / "copy.db";
    back_up_database(path_, backup, false);
    int ready[2], done[2];
    ASSERT_EQ(::pipe(ready), 0);
    ASSERT_EQ(::pipe(done), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {     // a stack's component: a connection that has read, then stays open
        ::close(done[1]); // so that the parent's close is the end of the pipe
        Db db(path_);
        db.query("SELECT count(*) FROM tasks")->executeStep();
        char byte = 1;
        [[maybe_unused]] ssize_t n = ::write(ready[1], &byte, 1);
        n = ::read(done[0], &byte, 1);
        ::_exit(0);
    }
    char byte = 0;
    ASSERT_EQ(::read(ready[0], &byte, 1), 1);
    EXPECT_TRUE(database_in_use(path_));
    EXPECT_EQ(error_of([&] { restore_database(path_, backup); }), ErrorCode::Conflict);
    ::close(done[1]);
    int status = 0;
    ::waitpid(child, &status, 0);
    EXPECT_FALSE(database_in_use(path_));
    EXPECT_NO_THROW(restore_database(path_, backup));
    for (int fd : {ready[0], ready[1], done[0]})
        ::close(fd);
}

TEST_F(BackupTest, RestoreRefusesWhatIsNotASoundTaskRunnerDatabase) {
    add_tasks(path_, 4, "kept-");
    const std::string good = dir_ / "good.db";
    back_up_database(path_, good, false);
    const auto refused = [&](const std::string &file) {
        EXPECT_EQ(error_of([&] { restore_database(path_, file); }), ErrorCode::InvalidRequest)
            << file;
        EXPECT_EQ(tasks_in(path_), 4) << "the database is as it was";
        EXPECT_EQ(hidden_files(dir_ / "data"), 0);
    };
    refused(dir_.write("text.db", std::string(8192, 'x')));
    refused(dir_ / "missing.db");
    refused(dir_.make_dir("a-directory"));
    const auto variant = [&](const std::string &name, const std::string &sql) {
        std::string file = dir_ / name;
        std::filesystem::copy_file(good, file);
        SQLite::Database db(file, SQLite::OPEN_READWRITE);
        db.exec(sql);
        return file;
    };
    refused(variant("other.db", "DROP TABLE tasks"));
    refused(
        variant("newer.db", "INSERT INTO schema_migrations (version, name) VALUES (9999, 'x')"));
    refused(variant("trigger.db", "CREATE TRIGGER steal AFTER INSERT ON tasks BEGIN "
                                  "DELETE FROM api_keys; END"));
    refused(variant("table.db", "CREATE TABLE extra (x)"));
    // CREATE refuses the name, a row written into sqlite_schema does not, and SQLite then loads
    // the trigger and fires it (integrity_check finds nothing wrong).
    refused(variant("reserved-name.db",
                    "PRAGMA writable_schema = ON; INSERT INTO sqlite_schema (type, name, "
                    "tbl_name, rootpage, sql) VALUES ('trigger', 'sqlite_steal', 'tasks', 0, "
                    "'CREATE TRIGGER sqlite_steal AFTER INSERT ON tasks BEGIN DELETE FROM "
                    "api_keys; END'); PRAGMA writable_schema = OFF"));
    // Pages of the copy overwritten: integrity_check (or SQLite itself) finds it.
    const std::string corrupt = dir_ / "corrupt.db";
    std::filesystem::copy_file(good, corrupt);
    {
        std::fstream file(corrupt, std::ios::in | std::ios::out | std::ios::binary);
        file.seekp(static_cast<std::streamoff>(std::filesystem::file_size(corrupt) - 4096ULL * 3));
        const std::string garbage(4096, '\x5a');
        file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
    }
    refused(corrupt);
}

} // namespace
} // namespace tr
