// The committer thread.
#include "core/group_commit.h"

#include "core/error.h"

#include <SQLiteCpp/Exception.h>
#include <sqlite3.h>

#include <future>

namespace tr {
namespace {

// The message of the error a write failed with, for the log.
std::string describe(const std::exception_ptr &error) {
    try {
        std::rethrow_exception(error);
    } catch (const std::exception &e) {
        return e.what();
    } catch (...) {
        return "unknown error";
    }
}

// SQLite's own default for automatic checkpoints, in pages.
constexpr int checkpoint_pages = 1000;
// A WAL that grows past this although the checkpointer runs (it copies back while writers go on
// appending, so a writer's BEGIN never finds it all copied and starts it over) is checkpointed
// by the committer itself, after its commit and before its next BEGIN, as SQLite's automatic
// checkpoint would: then the WAL can start over.
constexpr int inline_checkpoint_pages = 4 * checkpoint_pages;

} // namespace

GroupCommitter::GroupCommitter(const StorageConfig &storage, const Log &log, std::string name,
                               Settings settings)
    : storage_(storage), log_(log), name_(std::move(name)), settings_(std::move(settings)),
      checkpointer_(&GroupCommitter::run_checkpoints, this),
      committer_(&GroupCommitter::run, this) {}

GroupCommitter::~GroupCommitter() {
    {
        std::lock_guard<std::mutex> guard(mutex_);
        stopping_ = true;
    }
    queued_.notify_all();
    committer_.join();
    checkpoint_due_.notify_all();
    checkpointer_.join();
}

void GroupCommitter::run_checkpoints() {
    std::optional<Db> db;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
        checkpoint_due_.wait(lock, [&] { return stopping_ || wal_full_; });
        if (stopping_)
            return;
        wal_full_ = false;
        lock.unlock();
        try {
            if (!db)
                db.emplace(storage_);
            const int status = sqlite3_wal_checkpoint_v2(
                db->handle().getHandle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
            if (status != SQLITE_OK && status != SQLITE_BUSY) // busy: another is checkpointing
                log_.warn("group_commit.checkpoint_failed",
                          {{"writer", name_}, {"error", sqlite3_errstr(status)}});
        } catch (const std::exception &e) {
            log_.warn("group_commit.checkpoint_failed", {{"writer", name_}, {"error", e.what()}});
        }
        lock.lock();
    }
}

void GroupCommitter::write(Write write) {
    std::promise<void> committed;
    std::future<void> outcome = committed.get_future();
    post(std::move(write), [&committed](const std::exception_ptr &error) {
        if (error)
            committed.set_exception(error);
        else
            committed.set_value();
    });
    outcome.get();
}

void GroupCommitter::post(Write write, Done done) {
    {
        std::lock_guard<std::mutex> guard(mutex_);
        if (!stopping_) {
            queue_.push_back({std::move(write), std::move(done), nullptr});
            queued_.notify_one();
            return;
        }
    }
    // After the destructor began nothing is written: say so, as for any failed write.
    if (done)
        done(std::make_exception_ptr(
            Error(ErrorCode::ServiceUnavailable, name_ + ": the writer is shutting down")));
}

std::size_t GroupCommitter::queued() {
    std::lock_guard<std::mutex> guard(mutex_);
    return queue_.size();
}

void GroupCommitter::run() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
        queued_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty())
            return; // stopping, and nothing is left to write
        std::deque<Pending> group;
        while (!queue_.empty() && group.size() < settings_.max_group) {
            group.push_back(std::move(queue_.front()));
            queue_.pop_front();
        }
        lock.unlock();
        commit(group);
        for (Pending &pending : group)
            if (pending.done)
                pending.done(pending.error);
        lock.lock();
    }
}

void GroupCommitter::fail_all(std::deque<Pending> &group, const std::exception_ptr &error) {
    for (Pending &pending : group)
        if (!pending.error)
            pending.error = error;
}

bool GroupCommitter::open_connection(std::deque<Pending> &group) {
    if (db_)
        return true;
    try {
        db_.emplace(storage_);
        // In place of SQLite's automatic checkpoint (itself a WAL hook): tell the checkpointer.
        sqlite3_wal_hook(
            db_->handle().getHandle(),
            [](void *self, sqlite3 *, const char *, int pages) {
                auto &committer = *static_cast<GroupCommitter *>(self);
                committer.checkpoint_inline_ = pages >= inline_checkpoint_pages;
                if (pages >= checkpoint_pages) {
                    std::lock_guard<std::mutex> guard(committer.mutex_);
                    committer.wal_full_ = true;
                    committer.checkpoint_due_.notify_one();
                }
                return SQLITE_OK;
            },
            this);
        return true;
    } catch (const std::exception &e) {
        log_.error("group_commit.cannot_open", {{"writer", name_}, {"error", e.what()}});
        fail_all(group, std::current_exception());
        return false;
    }
}

void GroupCommitter::checkpoint_if_outgrown(Db &db) {
    if (!checkpoint_inline_)
        return;
    checkpoint_inline_ = false;
    // Busy (another connection checkpointing) or not done: the next commit says again.
    sqlite3_wal_checkpoint_v2(db.handle().getHandle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                              nullptr);
}

void GroupCommitter::commit(std::deque<Pending> &group) {
    if (!open_connection(group))
        return;
    Db &db = *db_;
    std::unique_lock<std::mutex> gate;
    if (settings_.write_gate)
        gate = std::unique_lock<std::mutex>(*settings_.write_gate);
    try {
        db.query("BEGIN IMMEDIATE")->exec();
    } catch (const SQLite::Exception &) {
        fail_all(group, std::current_exception());
        return;
    }
    bool stored = false;
    for (Pending &pending : group) {
        try {
            db.query("SAVEPOINT group_write")->exec();
            pending.write(db);
            db.query("RELEASE group_write")->exec();
            stored = true;
            continue;
        } catch (...) {
            pending.error = std::current_exception();
        }
        if (sqlite3_get_autocommit(db.handle().getHandle())) {
            // SQLite ended the whole transaction (it does on an I/O error, and on a full disk
            // when a statement cannot be undone alone): the writes before this one are gone, and
            // the next would each commit on their own while reported as failed. None is stored.
            log_.warn("group_commit.aborted", {{"writer", name_},
                                               {"writes", static_cast<long>(group.size())},
                                               {"error", describe(pending.error)}});
            fail_all(group, pending.error);
            return;
        }
        try { // undo just this one; the others of the group stay
            db.query("ROLLBACK TO group_write")->exec();
            db.query("RELEASE group_write")->exec();
        } catch (...) {
            // The transaction itself is broken: COMMIT below fails and reports it to all.
        }
    }
    try {
        db.query("COMMIT")->exec();
    } catch (const SQLite::Exception &e) {
        try {
            db.query("ROLLBACK")->exec();
        } catch (...) {
            // Nothing is left to undo if the rollback cannot run; the error below stands.
        }
        log_.warn(
            "group_commit.rolled_back",
            {{"writer", name_}, {"writes", static_cast<long>(group.size())}, {"error", e.what()}});
        fail_all(group, std::current_exception());
        return;
    }
    checkpoint_if_outgrown(db);
    gate = {};
    if (stored && settings_.after_commit)
        settings_.after_commit();
}

} // namespace tr
