// Running one claimed task: resolve its context and model, have the agent (agent.h) do it, and
// store its end — status, result, error and metrics. This is the runner's per-task exception
// boundary: whatever goes wrong ends the task with a stored status, never the runner; and an
// attempt that lost its lease ends with nothing written at all.
#pragma once

#include "core/db.h"
#include "runner/claim.h"
#include "runner/environment.h"
#include "runner/task_control.h"

#include <functional>
#include <memory>

namespace tr::runner {

// Called with the attempt's control once its deadline is known, and with nullptr when it
// ends, so the supervisor can renew its lease while it lives and deliver cancellations to it.
using ControlRegistration =
    std::function<void(const AttemptClaim &claim, std::shared_ptr<TaskControl> control)>;

class ModelClient;

// `db` and `client` are the calling worker's own: its SQLite connection and its connection to
// the model provider.
void run_claimed_task(Db &db, ModelClient &client, const RunnerEnvironment &environment,
                      const ClaimedTask &task, const ControlRegistration &register_control);

} // namespace tr::runner
