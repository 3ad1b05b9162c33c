// What every task on this runner shares: the configuration, the log, the sandbox, the runner's
// id, its writer and the flag that ends running tasks when a shutdown's grace period is over.
#pragma once

#include "core/config.h"
#include "core/group_commit.h"
#include "core/log.h"
#include "runner/sandbox/sandbox.h"

#include <atomic>
#include <string>

namespace tr::runner {

struct RunnerEnvironment {
    const Config &config;
    const Log &log;
    const Sandbox &sandbox;
    std::string runner_id;
    GroupCommitter &writes;            // every write of the runner's, in shared transactions
    const std::atomic<bool> &shutdown; // set when the grace period of a shutdown is over
};

} // namespace tr::runner
