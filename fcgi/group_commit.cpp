// The committer thread.
#include "fcgi/group_commit.h"

#include "core/db.h"
#include "core/error.h"

#include <sqlite3.h>

#include <algorithm>

namespace tr::fcgi {
namespace {

// Large enough to amortize a commit, small enough that one transaction stays short.
constexpr std::size_t max_group = 128;

// The message of the error a submission failed with, for the log.
std::string describe(const std::exception_ptr &error) {
    try {
        std::rethrow_exception(error);
    } catch (const std::exception &e) {
        return e.what();
    } catch (...) {
        return "unknown error";
    }
}

} // namespace

GroupCommit::GroupCommit(const Config &config, const Log &log, std::mutex &write_gate)
    : config_(config), log_(log), write_gate_(write_gate),
      runners_(wake_directory(config.storage.database), log), committer_(&GroupCommit::run, this) {}

GroupCommit::~GroupCommit() {
    {
        std::lock_guard<std::mutex> guard(mutex_);
        stopping_ = true;
    }
    queued_.notify_all();
    committer_.join();
}

SubmittedTask GroupCommit::submit(const TaskRequest &request, const TaskPlacement &placement) {
    Pending pending{&request, &placement, std::nullopt, nullptr, false};
    std::unique_lock<std::mutex> lock(mutex_);
    if (stopping_)
        throw Error(ErrorCode::ServiceUnavailable, "the handlers are shutting down");
    queue_.push_back(&pending);
    queued_.notify_one();
    answered_.wait(lock, [&] { return pending.done; });
    if (pending.error)
        std::rethrow_exception(pending.error);
    return *pending.result;
}

void GroupCommit::run() {
    std::optional<Db> db;
    try {
        db.emplace(config_.storage);
    } catch (const std::exception &e) {
        log_.error("group_commit.failed", {{"error", e.what()}});
    }
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
        queued_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty())
            return; // stopping, and nobody is waiting
        std::deque<Pending *> group;
        while (!queue_.empty() && group.size() < max_group) {
            group.push_back(queue_.front());
            queue_.pop_front();
        }
        lock.unlock();
        if (db) {
            commit(*db, group);
            if (std::any_of(group.begin(), group.end(),
                            [](const Pending *p) { return p->result && !p->result->existing; }))
                runners_.wake(); // before the answers: the task may start as its 202 leaves
        } else {
            for (Pending *pending : group)
                pending->error = std::make_exception_ptr(
                    Error(ErrorCode::ServiceUnavailable, "the database cannot be opened"));
        }
        lock.lock();
        for (Pending *pending : group)
            pending->done = true;
        answered_.notify_all();
    }
}

void GroupCommit::commit(Db &db, std::deque<Pending *> &group) {
    const TimePoint now = Clock::now();
    const auto fail_all = [&](const std::exception_ptr &error) {
        for (Pending *pending : group)
            if (!pending->error) {
                pending->result.reset();
                pending->error = error;
            }
    };
    std::lock_guard<std::mutex> writer(write_gate_);
    try {
        db.query("BEGIN IMMEDIATE")->exec();
    } catch (const SQLite::Exception &e) {
        fail_all(std::make_exception_ptr(database_error(e)));
        return;
    }
    for (Pending *pending : group) {
        try {
            db.query("SAVEPOINT submission")->exec();
            pending->result = insert_task(db, *pending->request, *pending->placement, now);
            db.query("RELEASE submission")->exec();
        } catch (const SQLite::Exception &e) {
            pending->error = std::make_exception_ptr(database_error(e));
        } catch (...) {
            pending->error = std::current_exception();
        }
        if (pending->error && sqlite3_get_autocommit(db.handle().getHandle())) {
            // SQLite ended the whole transaction (it does on an I/O error, and on a full disk
            // when a statement cannot be undone alone): the inserts before this one are gone, and
            // the next would each commit on their own while reported as failed. None is stored.
            log_.warn("group_commit.aborted", {{"tasks", static_cast<long>(group.size())},
                                               {"error", describe(pending->error)}});
            fail_all(pending->error);
            return;
        }
        if (pending->error) {
            try { // undo just this one; the others in the group stay
                db.query("ROLLBACK TO submission")->exec();
                db.query("RELEASE submission")->exec();
            } catch (...) {
                // The transaction itself is broken: COMMIT below fails and reports it to all.
            }
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
        log_.warn("group_commit.rolled_back",
                  {{"tasks", static_cast<long>(group.size())}, {"error", e.what()}});
        fail_all(std::make_exception_ptr(database_error(e)));
    }
}

} // namespace tr::fcgi
