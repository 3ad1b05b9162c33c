// Group commit: one thread, with its own connection, writes what the threads of a process hand
// it, as many writes to a transaction as are waiting when the last one committed (each inside
// its own savepoint, so a write that fails leaves the others of its group alone). Under load one
// commit — and with synchronous=full one fsync — serves many writes instead of one each, and
// the process holds SQLite's single write lock once per group instead of once per write, which
// is what the other processes writing the same database wait for.
//
// The committer does not checkpoint: copying the WAL back into the database (every 1000 pages,
// SQLite's default) would hold up every write queued behind it. A second thread does it on its
// own connection, PASSIVE (it never waits for writers or readers), when a commit tells it the
// WAL has grown that far; only a WAL that outgrows it (four times that) is checkpointed by the
// committer itself, so that it can start over.
//
// A write is a function run on the committer's connection inside the group's transaction. It
// must not begin or end transactions of its own (savepoints are fine), and must not wait for
// another write: the committer runs one write at a time, in the order they were handed over.
//
// write() returns once its transaction has committed, so nothing is reported as stored that is
// not; post() returns at once and says later, on the committer thread, how the write ended —
// for writes whose caller has nothing to decide on their outcome before it goes on (a step's
// end), which then cost the caller no wait at all. Writes of one thread are committed in the
// order that thread handed them over, whichever of the two it used.
#pragma once

#include "core/config.h"
#include "core/db.h"
#include "core/log.h"

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace tr {

class GroupCommitter {
public:
    using Write = std::function<void(Db &)>;
    // How a posted write ended: null once committed, else what it threw, or what failed the
    // whole transaction (SQLite::Exception for a database error). Called on the committer thread.
    using Done = std::function<void(std::exception_ptr)>;

    struct Settings {
        std::size_t max_group = 256;      // a bound on how long one transaction holds the lock
        std::mutex *write_gate = nullptr; // held while a group is written, if the process has one
        // Called on the committer thread after each commit that stored at least one write.
        std::function<void()> after_commit;
    };

    // Starts the committer thread. `name` says whose writes these are, in the log.
    GroupCommitter(const StorageConfig &storage, const Log &log, std::string name,
                   Settings settings);
    GroupCommitter(const GroupCommitter &) = delete;
    GroupCommitter &operator=(const GroupCommitter &) = delete;
    ~GroupCommitter(); // commits what is queued, then stops the thread

    // Runs `write` in the next transaction and returns once that has committed. Throws what the
    // write threw, or the SQLite::Exception that failed its transaction (then nothing of it is
    // stored).
    void write(Write write);
    // Queues `write` for the next transaction and returns at once.
    void post(Write write, Done done);

    // How many writes wait for a transaction (not those being written).
    std::size_t queued();

private:
    struct Pending {
        Write write;
        Done done;
        std::exception_ptr error;
    };

    void run();
    void run_checkpoints();
    void commit(std::deque<Pending> &group);
    // After a commit that left the WAL past what the checkpointer keeps up with.
    void checkpoint_if_outgrown(Db &db);
    // Opens the connection if it is not open; false (with every write of the group failed) when
    // it cannot be.
    bool open_connection(std::deque<Pending> &group);
    // Every write of the group fails with `error`, also those that had succeeded: their
    // transaction is gone. A write that failed on its own keeps its own error.
    static void fail_all(std::deque<Pending> &group, const std::exception_ptr &error);

    const StorageConfig &storage_;
    const Log &log_;
    const std::string name_;
    const Settings settings_;
    std::optional<Db> db_;           // the committer thread's; opened again when opening failed
    bool checkpoint_inline_ = false; // committer thread only: the WAL outgrew the checkpointer

    std::mutex mutex_;
    std::condition_variable queued_;
    std::deque<Pending> queue_;
    bool stopping_ = false;
    std::condition_variable checkpoint_due_;
    bool wal_full_ = false; // a commit left the WAL at the checkpoint size or beyond

    std::thread checkpointer_;
    std::thread committer_; // last: started once everything above exists
};

} // namespace tr
