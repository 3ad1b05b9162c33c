// Group commit for submissions: every POST /api/v1/tasks of this process hands its validated
// request to core's GroupCommitter, which writes all that are waiting in one transaction and
// answers each only once the transaction holding its task has committed, so nothing is
// acknowledged that is not stored. After a commit that stored a new task, and before its
// answers go out, the runners on this host are woken (core/wake_channel.h).
#pragma once

#include "core/config.h"
#include "core/group_commit.h"
#include "core/log.h"
#include "core/task_store.h"
#include "core/wake_channel.h"

#include <atomic>
#include <mutex>

namespace tr::fcgi {

class GroupCommit {
public:
    // `write_gate` is the process's writer mutex: the committer holds it while it writes.
    GroupCommit(const Config &config, const Log &log, std::mutex &write_gate);

    // Blocks until the task is committed; throws what insert_task throws (Conflict...), or
    // Error(ServiceUnavailable) when the commit itself failed.
    SubmittedTask submit(const TaskRequest &request, const TaskPlacement &placement);

private:
    RunnerWaker runners_;
    std::atomic<bool> stored_new_task_{false}; // since the last commit
    GroupCommitter committer_;                 // last: its thread uses the members above
};

} // namespace tr::fcgi
