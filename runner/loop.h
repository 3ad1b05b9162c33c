// Running one claimed task: resolve its context, plan it, drive the tool-calling loop until the
// provider gives a final answer, and store the result, the error and the metrics. This is the
// runner's per-task exception boundary: whatever goes wrong ends the task with a stored status,
// never the runner.
#pragma once

#include "core/config.h"
#include "core/db.h"
#include "core/log.h"
#include "runner/claim.h"
#include "runner/sandbox/sandbox.h"
#include "runner/task_control.h"

#include <atomic>
#include <functional>
#include <string>

namespace tr::runner {

struct RunnerEnvironment {
    const Config &config;
    const Log &log;
    const Sandbox &sandbox;
    std::string runner_id;
    const std::atomic<bool> &shutdown; // set when the grace period of a shutdown is over
};

// Called with the task's control once its deadline is known, and with nullptr when it ends, so
// the supervisor can deliver cancellations to it.
using ControlRegistration = std::function<void(const std::string &task_id, TaskControl *control)>;

class ModelClient;

// `db` and `client` are the calling worker's own: its SQLite connection and its connection to
// the model provider.
void run_claimed_task(Db &db, ModelClient &client, const RunnerEnvironment &environment,
                      const ClaimedTask &task, const ControlRegistration &register_control);

} // namespace tr::runner
