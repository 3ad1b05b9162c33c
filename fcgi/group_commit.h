// Group commit for submissions. Every POST /api/v1/tasks of this process hands its validated
// request to one committer thread, which writes all that are waiting in one transaction (each
// inside its own savepoint, so one refused insert leaves the others alone) and then answers
// them all. A request is answered only after the transaction holding its task has committed,
// so nothing is acknowledged that is not stored; under load, one commit (and, with
// synchronous=full, one fsync) serves many requests instead of one each.
#pragma once

#include "core/config.h"
#include "core/db.h"
#include "core/log.h"
#include "core/task_store.h"
#include "core/wake_channel.h"

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

namespace tr::fcgi {

class GroupCommit {
public:
    // Starts the committer thread, with its own connection. `write_gate` is the process's
    // writer mutex: the committer holds it while it writes.
    GroupCommit(const Config &config, const Log &log, std::mutex &write_gate);
    GroupCommit(const GroupCommit &) = delete;
    GroupCommit &operator=(const GroupCommit &) = delete;
    ~GroupCommit(); // answers what is queued, then stops the thread

    // Blocks until the task is committed; throws what insert_task throws (Conflict...), or
    // Error(ServiceUnavailable) when the commit itself failed.
    SubmittedTask submit(const TaskRequest &request, const TaskPlacement &placement);

private:
    struct Pending {
        const TaskRequest *request;
        const TaskPlacement *placement;
        std::optional<SubmittedTask> result;
        std::exception_ptr error;
        bool done = false;
    };

    void run();
    void commit(Db &db, std::deque<Pending *> &group);

    const Config &config_;
    const Log &log_;
    std::mutex &write_gate_;
    std::mutex mutex_;
    std::condition_variable queued_;
    std::condition_variable answered_;
    std::deque<Pending *> queue_;
    bool stopping_ = false;
    RunnerWaker runners_; // told after each commit that stored a new task
    std::thread committer_;
};

} // namespace tr::fcgi
