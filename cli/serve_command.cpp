// `task-runner serve`: the whole stack on this machine, in the foreground.
//
// Applies migrations, renders nginx's configuration into a private run directory, starts the
// FastCGI handlers, the runner and nginx (each in its own process group), waits until /health
// answers 200 through nginx, optionally runs a demo task through the API, then serves until
// SIGTERM/SIGINT. Shutdown goes edge first (nginx), then handlers, then the runner, so no
// request is accepted that cannot be answered and running tasks finish or go back to the queue.
// If any component dies, the rest are stopped and the launcher exits non-zero.
#include "cli/serve_command.h"

#include "cli/api_client.h"
#include "cli/nginx_config.h"
#include "cli/task_command.h"
#include "cli/usage_error.h"
#include "core/config.h"
#include "core/config_store.h"
#include "core/db.h"
#include "core/error.h"
#include "core/log.h"
#include "core/migrate.h"
#include "core/paths.h"
#include "core/process.h"

#include <grp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

namespace tr::cli {
namespace {

using namespace std::chrono_literals;

struct ServeOptions {
    std::string config_path;
    bool demo = false;
    std::string demo_task = "read the file README.md and summarize it";
};

ServeOptions parse_options(const std::vector<std::string> &args) {
    ServeOptions options;
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--config" && i + 1 < args.size()) {
            options.config_path = args[++i];
        } else if (args[i] == "--demo") {
            options.demo = true;
            if (i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0)
                options.demo_task = args[++i];
        } else {
            throw UsageError("serve: unknown argument \"" + args[i] + "\"");
        }
    }
    return options;
}

std::string program_directory() {
    char path[4096];
    const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0)
        throw Error(ErrorCode::InternalError, system_error_text("readlink /proc/self/exe", errno));
    return parent_directory(std::string(path, static_cast<std::size_t>(n)));
}

std::string find_nginx() {
    if (const char *path = std::getenv("PATH")) {
        std::string directories = path;
        std::size_t start = 0;
        while (start <= directories.size()) {
            const std::size_t colon = std::min(directories.find(':', start), directories.size());
            const std::string candidate = directories.substr(start, colon - start) + "/nginx";
            if (colon > start && ::access(candidate.c_str(), X_OK) == 0)
                return candidate;
            start = colon + 1;
        }
    }
    if (::access("/usr/sbin/nginx", X_OK) == 0)
        return "/usr/sbin/nginx";
    throw Error(ErrorCode::InternalError, "nginx is not installed (Debian package nginx)");
}

// Where sockets and nginx's state live. A private temporary directory unless configured; when
// we run as root, nginx's workers run as nobody:nogroup and reach the socket through the group.
class RunDirectory {
public:
    explicit RunDirectory(const std::string &configured) {
        if (configured.empty()) {
            std::string pattern = "/tmp/task-runner.XXXXXX";
            if (!::mkdtemp(pattern.data()))
                throw Error(ErrorCode::InternalError,
                            system_error_text("mkdtemp /tmp/task-runner.XXXXXX", errno));
            path_ = pattern;
            temporary_ = true;
        } else {
            path_ = configured;
            std::filesystem::create_directories(path_);
        }
        std::filesystem::create_directories(path_ + "/nginx");
        if (::geteuid() == 0) {
            const group *nogroup = ::getgrnam("nogroup");
            if (nogroup && ::chown(path_.c_str(), 0, nogroup->gr_gid) == 0)
                ::chmod(path_.c_str(), 0710);
        } else {
            ::chmod(path_.c_str(), 0700);
        }
    }
    RunDirectory(const RunDirectory &) = delete;
    RunDirectory &operator=(const RunDirectory &) = delete;
    ~RunDirectory() {
        if (!temporary_)
            return;
        std::error_code ignored; // best effort: a leftover temp directory harms nothing
        std::filesystem::remove_all(path_, ignored);
    }

    const std::string &path() const { return path_; }

private:
    std::string path_;
    bool temporary_ = false;
};

bool can_connect(const std::string &socket_path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
    const UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    return ::connect(fd.get(), reinterpret_cast<const sockaddr *>(&address), sizeof address) == 0;
}

struct Component {
    std::string name;
    ChildProcess process;
    std::chrono::seconds stop_timeout;
    int stop_signal = SIGTERM;
};

class Stack {
public:
    Stack(const Config &config, const Log &log) : config_(config), log_(log) {}

    void start(const std::string &config_path, const RunDirectory &run_dir) {
        const std::string bin = program_directory();
        const std::string socket = run_dir.path() + "/fcgi.sock";
        // Started runner, handlers, nginx; stopped in reverse: the edge first, the runner last.
        start_component(
            "runner",
            {bin + "/task-runner-runner", "--config", config_path, "--run-dir", run_dir.path()},
            std::chrono::seconds(config_.execution.shutdown_grace_seconds + 10));
        start_component(
            "fcgi", {bin + "/task-runner-fcgi", "--config", config_path, "--socket", socket}, 10s);
        wait_until("the handlers listen on " + socket, [&] { return can_connect(socket); });

        const std::string nginx_conf = run_dir.path() + "/nginx.conf";
        std::ofstream(nginx_conf) << render_nginx_config(
            config_, {run_dir.path(), socket, ::geteuid() == 0});
        // SIGQUIT: graceful, finishes the requests in flight. A PID namespace of its own: the
        // master dies with the launcher (die_with_parent), and the namespace takes the workers.
        start_component("nginx",
                        {find_nginx(), "-p", run_dir.path(), "-c", nginx_conf, "-e", "stderr"}, 10s,
                        SIGQUIT, true, std::vector<std::string>{});
    }

    // Polls until `ready` holds, or throws when a component dies or 30 s pass.
    template <typename Ready> void wait_until(const std::string &what, Ready ready) {
        const auto deadline = std::chrono::steady_clock::now() + 30s;
        while (!ready()) {
            if (const std::string dead = first_dead(); !dead.empty())
                throw Error(ErrorCode::InternalError, dead + " exited while waiting until " + what);
            if (std::chrono::steady_clock::now() > deadline)
                throw Error(ErrorCode::InternalError, "gave up after 30 s waiting until " + what);
            std::this_thread::sleep_for(50ms);
        }
    }

    // The name and exit of the first component that is no longer running, or "".
    std::string first_dead() {
        for (Component &component : components_)
            if (const std::optional<ExitStatus> status = component.process.poll())
                return component.name + " (" + status->describe() + ")";
        return "";
    }

    void stop() {
        for (Component &component : components_) { // newest first: nginx, fcgi, runner
            component.process.signal_group(component.stop_signal);
            if (!component.process.wait_for(component.stop_timeout)) {
                log_.warn("launcher.kill", {{"component", component.name}});
                component.process.kill_group();
            }
            component.process.signal_group(SIGKILL); // whatever it left behind in its group
        }
        components_.clear();
    }

    ~Stack() { stop(); }

private:
    // `environment`: nullopt passes ours on (the model key among it), which only our own
    // programs get.
    void start_component(const std::string &name, std::vector<std::string> argv,
                         std::chrono::seconds timeout, int stop_signal = SIGTERM,
                         bool own_pid_namespace = false,
                         std::optional<std::vector<std::string>> environment = std::nullopt) {
        SpawnSpec spec;
        spec.argv = std::move(argv);
        spec.environment = std::move(environment);
        spec.die_with_parent = true; // a killed launcher takes its stack with it
        spec.own_pid_namespace = own_pid_namespace;
        components_.insert(components_.begin(),
                           Component{name, ChildProcess::spawn(spec), timeout, stop_signal});
        log_.info(
            "launcher.started",
            {{"component", name}, {"pid", static_cast<long>(components_.front().process.pid())}});
    }

    const Config &config_;
    const Log &log_;
    std::vector<Component> components_; // newest first: nginx, fcgi, runner
};

// The Host header the launcher sends: the first allowed name, with the bind port when it has
// none of its own.
std::string launcher_host(const ServiceConfig &service, const BindAddress &bind) {
    for (const std::string &entry : effective_allowed_hosts(service))
        if (const std::optional<AllowedHost> host = parse_allowed_host(entry)) // not "*"
            return host->name + ":" + std::to_string(host->port.value_or(bind.port));
    const std::string name =
        bind.host.find(':') != std::string::npos ? "[" + bind.host + "]" : bind.host;
    return name + ":" + std::to_string(bind.port);
}

} // namespace

int serve_command(const std::vector<std::string> &args) {
    const ServeOptions options = parse_options(args);
    const std::string config_path =
        absolute_path(options.config_path.empty() ? default_config_path() : options.config_path,
                      current_directory());
    const Config config = load_service_config(config_path);
    // Our environment may hold the model key: no process of another kind may read it through
    // /proc, even under our uid (the runner and the handlers do the same).
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    Log log("launcher", parse_log_level(config.service.log_level).value_or(LogLevel::Info));

    // Signals are taken by sigwait below; children get a clean mask (core/process.cpp).
    sigset_t signals;
    sigemptyset(&signals);
    for (const int signal : {SIGTERM, SIGINT, SIGHUP, SIGCHLD})
        sigaddset(&signals, signal);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    const RunDirectory run_dir(config.storage.run_dir);
    Stack stack(config, log);
    const BindAddress bind = *parse_bind_address(config.service.bind_address);
    std::string host = bind.host == "0.0.0.0" ? "127.0.0.1" : bind.host == "::" ? "::1" : bind.host;
    if (host.find(':') != std::string::npos)
        host = "[" + host + "]";
    const std::string url = "http://" + host + ":" + std::to_string(bind.port);
    ApiClient client(url);
    // The stack answers only the Host names it is configured for (DNS rebinding); the launcher
    // reaches it on the bind address under the first of them.
    client.set_host_header(launcher_host(config.service, bind));
    stack.start(config_path, run_dir); // on failure, ~Stack stops what did start
    stack.wait_until("GET /health answers 200 through nginx", [&] {
        try {
            return client.health().status == 200;
        } catch (const Error &) {
            return false; // not listening yet
        }
    });

    if (!config.service.require_api_key) {
        // Said once, where the person who started it looks: the log and the banner below.
        const std::string reach = is_loopback_host(bind.host)
                                      ? "every user and program on this machine that can reach " +
                                            config.service.bind_address
                                      : "anyone who can reach " + config.service.bind_address;
        log.warn("launcher.open_access",
                 {{"bind", config.service.bind_address},
                  {"reason", "service.require_api_key is false: " + reach +
                                 " can run commands through this service"}});
        std::cout << "Warning: API keys are off (service.require_api_key = false): " << reach
                  << " can run commands through this service.\n";
    }
    std::cout
        << "Task Runner " << TR_VERSION << " is serving on " << url << "\n"
        << "  submit:   curl -X POST " << url
        << "/api/v1/tasks -H 'Content-Type: application/json' -d '{\"task\":\"list the files in "
           ".\"}'\n"
        << "  database: " << config.storage.database << "\n"
        << "  config:   " << config_path << "\n"
        << "Stop with Ctrl-C.\n"
        << std::flush;

    int status = 0;
    if (options.demo) {
        std::cout << "\nDemo task: " << options.demo_task << "\n" << std::flush;
        TaskOptions demo;
        demo.task = options.demo_task;
        demo.progress = true;
        run_task(client, demo);
        std::cout << "\nThe stack keeps serving on " << url << "; stop it with Ctrl-C.\n"
                  << std::flush;
    }

    for (;;) {
        int signal = 0;
        sigwait(&signals, &signal);
        if (signal != SIGCHLD) {
            log.info("launcher.stopping", {{"signal", strsignal(signal)}});
            break;
        }
        if (const std::string dead = stack.first_dead(); !dead.empty()) {
            log.error("launcher.component_died", {{"component", dead}});
            status = 1;
            break;
        }
    }
    stack.stop();
    log.info("launcher.stopped");
    return status;
}

} // namespace tr::cli
