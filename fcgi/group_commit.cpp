// Submissions through the group committer.
#include "fcgi/group_commit.h"

#include "core/db.h"

#include <SQLiteCpp/Exception.h>

namespace tr::fcgi {
namespace {

// Large enough to amortize a commit, small enough that one transaction stays short.
constexpr std::size_t max_group = 128;

} // namespace

GroupCommit::GroupCommit(const Config &config, const Log &log, std::mutex &write_gate)
    : runners_(wake_directory(config.storage.database), log),
      committer_(config.storage, log, "submissions",
                 {max_group, &write_gate, [this] {
                      if (stored_new_task_.exchange(false))
                          runners_.wake(); // before the answers: the task may start as they leave
                  }}) {}

SubmittedTask GroupCommit::submit(const TaskRequest &request, const TaskPlacement &placement) {
    std::optional<SubmittedTask> task;
    try {
        committer_.write([&](Db &db) {
            task = insert_task(db, request, placement, Clock::now());
            if (!task->existing)
                stored_new_task_ = true;
        });
    } catch (const SQLite::Exception &e) {
        throw database_error(e);
    }
    return *task;
}

} // namespace tr::fcgi
