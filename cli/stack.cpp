// Starting, supervising and stopping the stack's components (see stack.h).
//
// Everything happens on the launcher's main thread, which waits for signals with sigwait and
// sigtimedwait (SIGCHLD among them, all blocked), so a death, a due restart and a stop request
// are handled in one loop, and a stop request is seen at once even during a backoff.
#include "cli/stack.h"

#include "cli/console_directory.h"
#include "cli/nginx_config.h"
#include "core/component_restarts.h"
#include "core/error.h"
#include "core/paths.h"
#include "core/unix_socket.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <thread>

namespace tr::cli {
namespace {

using namespace std::chrono_literals;

// How often a restarted component is asked whether it is ready, and how long one asking waits.
constexpr std::chrono::milliseconds ready_poll_interval{100};
constexpr std::chrono::milliseconds ready_probe_timeout{2000};
// How often a namespace init is sent its stop signal again while it has not stopped.
constexpr std::chrono::milliseconds stop_signal_interval{200};

std::string find_nginx() {
    if (const char *path = std::getenv("PATH")) {
        std::string directories = path;
        std::size_t start = 0;
        while (start <= directories.size()) {
            const std::size_t colon = std::min(directories.find(':', start), directories.size());
            std::string candidate = directories.substr(start, colon - start) + "/nginx";
            if (colon > start && ::access(candidate.c_str(), X_OK) == 0)
                return candidate;
            start = colon + 1;
        }
    }
    if (::access("/usr/sbin/nginx", X_OK) == 0)
        return "/usr/sbin/nginx";
    throw Error(ErrorCode::InternalError, "nginx is not installed (Debian package nginx)");
}

// `environment`: nullopt passes ours on (the model key among it), which only our own programs
// get.
SpawnSpec component_spec(std::vector<std::string> argv,
                         std::optional<std::vector<std::string>> environment = std::nullopt,
                         bool own_pid_namespace = false) {
    SpawnSpec spec;
    spec.argv = std::move(argv);
    spec.environment = std::move(environment);
    spec.die_with_parent = true; // a killed launcher takes its stack with it
    spec.own_pid_namespace = own_pid_namespace;
    return spec;
}

// The next of `signals`, or 0 when `until` comes first.
int next_signal(const sigset_t &signals, std::optional<SteadyClock::time_point> until) {
    int signal = 0;
    if (!until) {
        sigwait(&signals, &signal);
        return signal;
    }
    const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::max(*until - SteadyClock::now(), SteadyClock::duration::zero()));
    const timespec timeout{static_cast<time_t>(left.count() / 1000000000),
                           static_cast<long>(left.count() % 1000000000)};
    signal = sigtimedwait(&signals, nullptr, &timeout);
    return signal > 0 ? signal : 0; // EAGAIN: the time has come; EINTR: look again all the same
}

} // namespace

Stack::Stack(const Config &config, const Log &log, Db &db, HealthProbe &probe)
    : config_(config), log_(log), db_(db), probe_(probe) {}

Stack::~Stack() {
    stop();
}

void Stack::start(const std::string &config_path, const std::string &run_dir) {
    const std::string bin = program_directory();
    const std::string socket = run_dir + "/fcgi.sock";
    const std::function<bool()> handlers_answer = [this] { return this->handlers_answer(); };
    add_component({"runner",
                   component_spec({bin + "/task-runner-runner", "--config", config_path,
                                   "--run-dir", run_dir}),
                   std::chrono::seconds(config_.execution.shutdown_grace_seconds + 10)});
    add_component(
        {"fcgi",
         component_spec({bin + "/task-runner-fcgi", "--config", config_path, "--socket", socket}),
         10s, SIGTERM, handlers_answer});
    wait_until("the handlers listen on " + socket, [&] { return unix_socket_accepts(socket); });

    const std::string nginx_conf = run_dir + "/nginx.conf";
    std::ofstream(nginx_conf) << render_nginx_config(
        config_, {run_dir, socket, ::geteuid() == 0, console_directory(bin)});
    // SIGQUIT: graceful, finishes the requests in flight. A PID namespace of its own: the master
    // dies with the launcher (die_with_parent), and the namespace takes the workers.
    add_component({"nginx",
                   component_spec({find_nginx(), "-p", run_dir, "-c", nginx_conf, "-e", "stderr"},
                                  std::vector<std::string>{}, true),
                   10s, SIGQUIT, handlers_answer, true});
    wait_until("GET /health answers 200 through nginx", [this] {
        try {
            return probe_.status() == 200;
        } catch (const Error &) {
            return false; // not listening yet
        }
    });
}

std::optional<std::string> Stack::supervise(const sigset_t &signals) {
    for (;;) {
        const int signal = next_signal(signals, next_wake());
        if (signal != 0 && signal != SIGCHLD) {
            log_.info("launcher.stopping", {{"signal", strsignal(signal)}});
            return std::nullopt;
        }
        if (std::optional<std::string> gave_up = tend())
            return gave_up;
    }
}

// Its stop signal, again while nginx starts (PID 1 of its namespace, it can miss one), then
// SIGKILL once its time is up; then whatever it left behind in its group.
void Stack::stop_component(Component &component) {
    if (component.process.running()) {
        const auto deadline = SteadyClock::now() + component.stop_timeout;
        const auto interval =
            component.namespace_init ? stop_signal_interval : component.stop_timeout;
        component.process.signal_group(component.stop_signal);
        while (!component.process.wait_for(interval)) {
            if (SteadyClock::now() >= deadline) {
                log_.warn("launcher.kill", {{"component", component.name}});
                component.process.kill_group();
                break;
            }
            component.process.signal_group(component.stop_signal);
        }
    }
    component.process.signal_group(SIGKILL);
}

void Stack::stop() {
    for (Component &component : components_) // nginx, fcgi, runner
        stop_component(component);
    components_.clear();
}

void Stack::add_component(Component component) {
    component.process = ChildProcess::spawn(component.spec);
    component.started = SteadyClock::now();
    log_.info("launcher.started",
              {{"component", component.name}, {"pid", static_cast<long>(component.process.pid())}});
    components_.insert(components_.begin(), std::move(component));
}

void Stack::wait_until(const std::string &what, const std::function<bool()> &ready) {
    const auto deadline = SteadyClock::now() + component_ready_timeout;
    while (!ready()) {
        for (Component &component : components_)
            if (const std::optional<ExitStatus> status = component.process.poll())
                throw Error(ErrorCode::InternalError, component.name + " (" + status->describe() +
                                                          ") exited while waiting until " + what);
        if (SteadyClock::now() > deadline)
            throw Error(ErrorCode::InternalError,
                        "gave up after " + std::to_string(component_ready_timeout.count()) +
                            " s waiting until " + what);
        std::this_thread::sleep_for(50ms);
    }
}

std::optional<std::string> Stack::tend() {
    for (Component &component : components_) {
        std::optional<std::string> gave_up;
        if (component.phase == Phase::Waiting) {
            if (SteadyClock::now() >= component.due)
                gave_up = restart(component);
        } else if (const std::optional<ExitStatus> status = component.process.poll()) {
            gave_up = on_death(component, status->describe());
        } else if (component.phase == Phase::Starting) {
            if (component.ready()) {
                component.phase = Phase::Running;
                log_.info("launcher.ready", {{"component", component.name},
                                             {"pid", static_cast<long>(component.process.pid())}});
            } else if (SteadyClock::now() >= component.due) {
                component.process.kill_group();
                gave_up =
                    on_death(component, "not ready after " +
                                            std::to_string(component_ready_timeout.count()) + " s");
            }
        }
        if (gave_up)
            return gave_up;
    }
    return std::nullopt;
}

std::optional<std::string> Stack::on_death(Component &component, const std::string &how) {
    const SteadyClock::time_point now = SteadyClock::now();
    const long pid = component.process.pid();
    // The group, not only the leader: what it started must not outlive it (no orphan is left
    // to hold a socket, a port or a task's files while its successor starts).
    component.process.signal_group(SIGKILL);
    component.process = ChildProcess(); // reaped; nothing of it is left to signal
    component.last_exit = how;
    const std::optional<std::chrono::milliseconds> delay =
        component.policy.on_death(component.started, now);
    const int deaths = component.policy.recent_deaths();
    const long long window = component.policy.limits().window.count();
    if (!delay) {
        log_.error("launcher.component_died", {{"component", component.name},
                                               {"pid", pid},
                                               {"exit", how},
                                               {"deaths", deaths},
                                               {"window_s", window},
                                               {"restart", false}});
        return component.name + " died " + std::to_string(deaths) + " times within " +
               std::to_string(window) + " s (the last time: " + how +
               "); the launcher gave up restarting it and stopped the stack";
    }
    log_.warn("launcher.component_died",
              {{"component", component.name},
               {"pid", pid},
               {"exit", how},
               {"deaths", deaths},
               {"window_s", window},
               {"restart_in_ms", static_cast<long long>(delay->count())}});
    component.phase = Phase::Waiting;
    component.due = now + *delay;
    return std::nullopt;
}

std::optional<std::string> Stack::restart(Component &component) {
    try {
        component.process = ChildProcess::spawn(component.spec);
    } catch (const Error &e) {
        // A program that cannot even be started counts as a death: it too ends in the give-up
        // rule instead of being retried for ever.
        return on_death(component, e.what());
    }
    component.started = SteadyClock::now();
    component.phase = component.ready ? Phase::Starting : Phase::Running;
    component.due = component.started + component_ready_timeout;
    log_.info("launcher.restarted", {{"component", component.name},
                                     {"pid", static_cast<long>(component.process.pid())},
                                     {"last_exit", component.last_exit}});
    record_restart(component);
    return std::nullopt;
}

void Stack::record_restart(const Component &component) {
    try {
        record_component_restart(db_, component.name, component.last_exit, Clock::now());
    } catch (const std::exception &e) {
        // The restart stands without its record: the database may be what is in trouble, and a
        // serving stack is worth more than the count.
        log_.warn("launcher.restart_not_recorded",
                  {{"component", component.name}, {"error", e.what()}});
    }
}

std::optional<SteadyClock::time_point> Stack::next_wake() const {
    std::optional<SteadyClock::time_point> wake;
    const auto sooner = [&wake](SteadyClock::time_point when) {
        wake = wake ? std::min(*wake, when) : when;
    };
    for (const Component &component : components_) {
        if (component.phase == Phase::Waiting)
            sooner(component.due);
        else if (component.phase == Phase::Starting)
            sooner(SteadyClock::now() + ready_poll_interval);
    }
    return wake;
}

bool Stack::handlers_answer() {
    try {
        // The handlers answer /health with 200, or 503 while no runner is alive (it may be
        // restarting too); nginx's own answer while they do not is 502.
        const long status = probe_.status(ready_probe_timeout);
        return status == 200 || status == 503;
    } catch (const Error &) {
        return false; // nginx is not listening
    }
}

} // namespace tr::cli
