// fcgi/group_commit: submissions from many threads are committed by one thread and each is
// answered only once its task is stored; a refused submission gets its own error and leaves the
// others alone; without a database every submission is refused as unavailable, none hangs.
#include "fcgi/group_commit.h"

#include "core/error.h"
#include "core/migrate.h"
#include "test_support.h"

#include <poll.h>

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace tr::fcgi {
namespace {

using test::contains;

TaskRequest request_for(const std::string &text, std::optional<std::string> task_id = {}) {
    TaskRequest request;
    request.task = text;
    request.task_id = std::move(task_id);
    return request;
}

class GroupCommitTest : public ::testing::Test {
protected:
    GroupCommitTest()
        : config_(test::load_minimal_config(dir_)), log_fd_(open_log(dir_ / "commit.log")),
          log_("fcgi", LogLevel::Info, log_fd_.get()) {
        prepare_database_file(config_.storage.database);
        db_ = std::make_unique<Db>(config_.storage.database);
        migrate(db_->handle());
    }

    static UniqueFd open_log(const std::string &path) {
        return UniqueFd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
    }

    int stored_tasks() { return db_->handle().execAndGet("SELECT count(*) FROM tasks").getInt(); }

    std::string stored_text(const std::string &id) {
        SQLite::Statement select(db_->handle(), "SELECT task FROM tasks WHERE id = ?");
        select.bind(1, id);
        return select.executeStep() ? select.getColumn(0).getString() : "";
    }

    test::TempDir dir_;
    Config config_;
    UniqueFd log_fd_;
    Log log_;
    std::mutex write_gate_;
    std::unique_ptr<Db> db_;
};

TEST_F(GroupCommitTest, EverySubmissionFromManyThreadsIsStoredBeforeItIsAnswered) {
    constexpr int threads = 8, per_thread = 10;
    std::vector<std::vector<SubmittedTask>> answers(threads);
    {
        GroupCommit committer(config_, log_, write_gate_);
        std::vector<std::thread> submitters;
        for (int t = 0; t < threads; ++t)
            submitters.emplace_back([&, t] {
                for (int i = 0; i < per_thread; ++i) {
                    const TaskRequest request =
                        request_for("task " + std::to_string(t) + "." + std::to_string(i));
                    const SubmittedTask task = committer.submit(request, {});
                    // Answered: it is there for any other connection to read, already.
                    Db reader(config_.storage.database);
                    SQLite::Statement select(reader.handle(),
                                             "SELECT task FROM tasks WHERE id = ?");
                    select.bind(1, task.id);
                    EXPECT_TRUE(select.executeStep() &&
                                select.getColumn(0).getString() == request.task);
                    answers[t].push_back(task);
                }
            });
        for (std::thread &submitter : submitters)
            submitter.join();
    }
    std::set<std::string> ids;
    for (const std::vector<SubmittedTask> &answered : answers)
        for (const SubmittedTask &task : answered) {
            EXPECT_EQ(task.status, "queued");
            EXPECT_FALSE(task.existing);
            ids.insert(task.id);
        }
    EXPECT_EQ(ids.size(), static_cast<std::size_t>(threads * per_thread));
    EXPECT_EQ(stored_tasks(), threads * per_thread);
}

TEST_F(GroupCommitTest, ARefusedSubmissionGetsItsOwnErrorAndTheOthersAreStored) {
    insert_task(*db_, request_for("the first one", "taken"), {}, Clock::now());
    constexpr int others = 6;
    std::atomic<int> conflicts{0};
    std::vector<std::string> stored(others);
    {
        GroupCommit committer(config_, log_, write_gate_);
        std::vector<std::thread> submitters;
        // While the gate is held the committer cannot write, so the submissions wait together
        // and are likely committed as one group, the refused one among them.
        std::unique_lock<std::mutex> gate(write_gate_);
        submitters.emplace_back([&] {
            try {
                committer.submit(request_for("another body", "taken"), {});
            } catch (const Error &e) {
                EXPECT_EQ(e.code(), ErrorCode::Conflict);
                ++conflicts;
            }
        });
        for (int i = 0; i < others; ++i)
            submitters.emplace_back([&, i] {
                stored[i] = committer.submit(request_for("other " + std::to_string(i)), {}).id;
            });
        gate.unlock();
        for (std::thread &submitter : submitters)
            submitter.join();
    }
    EXPECT_EQ(conflicts, 1);
    EXPECT_EQ(stored_text("taken"), "the first one");
    for (int i = 0; i < others; ++i)
        EXPECT_EQ(stored_text(stored[i]), "other " + std::to_string(i));
    EXPECT_EQ(stored_tasks(), 1 + others);
}

TEST_F(GroupCommitTest, TheSameRequestAgainIsAnsweredWithTheTaskItMade) {
    GroupCommit committer(config_, log_, write_gate_);
    const SubmittedTask first = committer.submit(request_for("once", "mine"), {});
    const SubmittedTask again = committer.submit(request_for("once", "mine"), {});
    EXPECT_FALSE(first.existing);
    EXPECT_TRUE(again.existing);
    EXPECT_EQ(again.id, "mine");
    EXPECT_EQ(again.created_at, first.created_at);
    EXPECT_EQ(stored_tasks(), 1);
}

TEST_F(GroupCommitTest, WithoutADatabaseEverySubmissionIsRefusedAsUnavailable) {
    Config broken = config_;
    broken.storage.database = dir_ / "missing/directory/tasks.db"; // SQLite cannot create it
    {
        GroupCommit committer(broken, log_, write_gate_);
        for (int i = 0; i < 2; ++i) {
            try {
                committer.submit(request_for("lost"), {});
                ADD_FAILURE() << "a submission was answered without a database";
            } catch (const Error &e) {
                EXPECT_EQ(e.code(), ErrorCode::ServiceUnavailable);
                EXPECT_EQ(std::string(e.what()), "the database's files cannot be opened");
            }
        }
    }
    EXPECT_TRUE(contains(test::read_text(dir_ / "commit.log"), "event=group_commit.cannot_open"));
    EXPECT_FALSE(test::exists(dir_ / "missing"));
}

// The runners on this host hear of a stored task at once (core/wake_channel.h); a request that
// stored nothing new (the same task_id again) wakes nobody.
TEST_F(GroupCommitTest, ACommitThatStoredATaskWakesTheRunnersAndARepeatDoesNot) {
    WakeListener runner(wake_directory(config_.storage.database), "runner-1");
    const auto woken = [&runner](int timeout_ms) {
        pollfd wait{runner.fd(), POLLIN, 0};
        return ::poll(&wait, 1, timeout_ms) == 1 && runner.drain();
    };
    GroupCommit committer(config_, log_, write_gate_);
    const TaskRequest request = request_for("list the files in .", "wake-once");
    committer.submit(request, {});
    EXPECT_TRUE(woken(5000)); // sent before the answer: already there
    EXPECT_TRUE(committer.submit(request, {}).existing);
    EXPECT_FALSE(woken(0));
}

} // namespace
} // namespace tr::fcgi
