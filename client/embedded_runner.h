// The runner of an in-process client: runner::Runner on a thread of the calling process, with
// the sandbox and the watchdog the task-runner-runner program sets up, so tasks run exactly as
// the service runs them. Stopped by request (Runner::request_stop), never by a signal.
#pragma once

#include "core/config.h"
#include "core/log.h"
#include "runner/runner.h"
#include "runner/sandbox/sandbox.h"
#include "runner/watchdog.h"

#include <thread>

namespace tr::client {

class EmbeddedRunner {
public:
    // Sets up the sandbox and starts the watchdog here (their errors are thrown here, as
    // task_runner::Error), then the runner's thread. `config` and `log` must outlive it.
    EmbeddedRunner(const Config &config, const Log &log);
    EmbeddedRunner(const EmbeddedRunner &) = delete;
    EmbeddedRunner &operator=(const EmbeddedRunner &) = delete;
    // Stops the runner as SIGTERM stops the program: running tasks get the grace period, the
    // rest go back to the queue. Waits for that.
    ~EmbeddedRunner();

private:
    void run() noexcept;

    const Log &log_;
    runner::Watchdog watchdog_;
    runner::Sandbox sandbox_;
    runner::Runner runner_;
    std::thread thread_;
};

} // namespace tr::client
