// The runner inside a client's process.
#include "client/embedded_runner.h"

#include "client/runner_program.h"
#include "core/paths.h"

#include <sys/prctl.h>

#include <csignal>

namespace tr::client {
namespace {

std::string runner_program() {
    return find_runner_program();
}

// As task-runner-runner does: commands die when leases can no longer be renewed, before the
// lease lapses (three quarters of it without a renewal).
std::chrono::milliseconds watchdog_timeout(const Config &config) {
    return std::chrono::milliseconds(config.execution.lease_seconds * 750);
}

runner::Sandbox sandbox_for(const Config &config, const Log &log) {
    // Commands may run as this very user (a non-root caller): none of them may read this
    // process's memory (a model key), as for the runner program (PR_SET_DUMPABLE).
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    return runner::Sandbox::set_up(config, "", parent_directory(runner_program()), log);
}

} // namespace

EmbeddedRunner::EmbeddedRunner(const Config &config, const Log &log)
    : log_(log), watchdog_(runner_program(), watchdog_timeout(config)),
      sandbox_(sandbox_for(config, log)), runner_(config, log, sandbox_, watchdog_) {
    sandbox_.set_watchdog(&watchdog_);
    thread_ = std::thread(&EmbeddedRunner::run, this);
}

EmbeddedRunner::~EmbeddedRunner() {
    runner_.request_stop();
    thread_.join();
}

void EmbeddedRunner::run() noexcept {
    // A write to a pipe whose reader is gone (a command's, the watchdog's) must fail with EPIPE
    // in the runner's threads, not kill the caller's process: SIGPIPE blocked here is blocked
    // in every thread the runner starts. The caller's own threads keep their mask.
    sigset_t pipe_signal;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
    try {
        runner_.run();
    } catch (const std::exception &e) {
        // The runner's boundary, as in task-runner-runner's main: tasks stay queued for the
        // next runner; requests keep being answered.
        log_.error("runner.failed", {{"error", e.what()}});
    }
}

} // namespace tr::client
