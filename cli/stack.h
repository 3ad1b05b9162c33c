// The stack's components as `task-runner serve` runs them: the runner, the FastCGI handlers and
// nginx, each in its own process group; started in that order, stopped in reverse (the edge
// first, the runner last), and supervised in between: a component that dies is restarted after
// a backoff (cli/restart_policy.h), and each restart is recorded in component_restarts.
#pragma once

#include "cli/health_probe.h"
#include "cli/restart_policy.h"
#include "core/config.h"
#include "core/db.h"
#include "core/log.h"
#include "core/process.h"

#include <signal.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tr::cli {

// How long a started or restarted component may take to become ready.
inline constexpr std::chrono::seconds component_ready_timeout{30};

class Stack {
public:
    // `db` is where restarts are recorded; `probe` reaches the stack through nginx, to see that
    // the handlers answer. All three outlive the stack. Not thread-safe: one thread starts,
    // supervises and stops it, and that thread must live as long as the components (they are
    // spawned with PR_SET_PDEATHSIG, which follows the thread).
    Stack(const Config &config, const Log &log, Db &db, HealthProbe &probe);
    Stack(const Stack &) = delete;
    Stack &operator=(const Stack &) = delete;
    ~Stack(); // stop()

    // Starts the runner, the handlers and nginx, and waits until /health answers 200 through
    // nginx. Throws Error naming the component when one exits meanwhile (it is not restarted:
    // one that fails at start-up would only fail again) or after component_ready_timeout.
    void start(const std::string &config_path, const std::string &run_dir);

    // Restarts components that die, until a stop signal (SIGTERM, SIGINT or SIGHUP) arrives
    // among `signals`, which the caller has blocked in every thread together with SIGCHLD.
    // Returns nullopt then, or, when one component died too often (RestartLimits), why it gave
    // up. Either way the caller stops the stack; nothing is restarted after this returns.
    std::optional<std::string> supervise(const sigset_t &signals);

    // Stops what is running, nginx first and the runner last, each with its own signal and
    // timeout; kills what outstays it, and whatever is left in each process group.
    void stop();

private:
    enum class Phase {
        Running,  // started and, where that applies, ready
        Starting, // restarted, not yet ready (until `due`)
        Waiting,  // dead, to be started again at `due`
    };

    struct Component {
        std::string name;
        SpawnSpec spec;
        std::chrono::seconds stop_timeout;
        int stop_signal = SIGTERM;
        std::function<bool()> ready{}; // empty: ready once started
        // PID 1 of a namespace of its own: the kernel drops a signal it has no handler for yet,
        // so one sent while it starts is lost, and stop() sends it again until it takes.
        bool namespace_init = false;
        // What follows changes as it runs, dies and is started again.
        ChildProcess process{};
        SteadyClock::time_point started{};
        Phase phase = Phase::Running;
        SteadyClock::time_point due{};
        std::string last_exit{}; // how it ended the last time it died
        RestartPolicy policy{};
    };

    void add_component(Component component);
    void stop_component(Component &component);
    // Polls until `ready` holds; throws when a component dies or component_ready_timeout passes.
    void wait_until(const std::string &what, const std::function<bool()> &ready);
    // Reaps the dead, starts what is due, checks what is starting. Why it gave up, if it did.
    std::optional<std::string> tend();
    // The component's process has ended as `how` (already reaped): logs it, kills what is left
    // of its group, and schedules its restart; or says why not.
    std::optional<std::string> on_death(Component &component, const std::string &how);
    std::optional<std::string> restart(Component &component);
    void record_restart(const Component &component);
    // When tend() must run next, if before the next signal.
    std::optional<SteadyClock::time_point> next_wake() const;
    bool handlers_answer();

    const Config &config_;
    const Log &log_;
    Db &db_;
    HealthProbe &probe_;
    std::vector<Component> components_; // in stop order: nginx, fcgi, runner
};

} // namespace tr::cli
