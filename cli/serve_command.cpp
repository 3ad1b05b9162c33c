// `task-runner serve`: the whole stack on this machine, in the foreground.
//
// Applies migrations, renders nginx's configuration into a private run directory, starts the
// runner, the FastCGI handlers and nginx (each in its own process group), waits until /health
// answers 200 through nginx, optionally runs a demo task through the API, then supervises them
// until SIGTERM/SIGINT (cli/stack.h). A component that fails while the stack starts fails
// `serve` at once with its error. One that dies later is restarted after a backoff of 0.25 s,
// doubling up to 4 s (0.25 s again once it had stayed up 30 s), logged and counted in
// component_restarts (GET /api/v1/status); at its fifth death within 60 s the launcher gives up,
// stops the rest and exits non-zero (cli/restart_policy.h). Shutdown goes edge first (nginx),
// then handlers, then the runner, so no request is accepted that cannot be answered and running
// tasks finish or go back to the queue; nothing is restarted during it.
#include "cli/serve_command.h"

#include "cli/health_probe.h"
#include "cli/server.h"
#include "cli/stack.h"
#include "cli/task_command.h"
#include "cli/usage_error.h"
#include "core/config.h"
#include "core/config_store.h"
#include "core/db.h"
#include "core/error.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/stop_signals.h"

#include <grp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>

namespace tr::cli {
namespace {

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

// Where the launcher reaches the stack: the bind address, a wildcard as loopback.
std::string stack_url(const BindAddress &bind) {
    std::string host = bind.host == "0.0.0.0" ? "127.0.0.1" : bind.host == "::" ? "::1" : bind.host;
    if (host.find(':') != std::string::npos)
        host = "[" + host + "]";
    return "http://" + host + ":" + std::to_string(bind.port);
}

// Said once, where the person who started it looks: the log and the banner.
void warn_when_open(const ServiceConfig &service, const BindAddress &bind, const Log &log) {
    if (service.require_api_key)
        return;
    const std::string reach =
        is_loopback_host(bind.host)
            ? "every user and program on this machine that can reach " + service.bind_address
            : "anyone who can reach " + service.bind_address;
    log.warn("launcher.open_access", {{"bind", service.bind_address},
                                      {"reason", "service.require_api_key is false: " + reach +
                                                     " can run commands through this service"}});
    std::cout << "Warning: API keys are off (service.require_api_key = false): " << reach
              << " can run commands through this service.\n";
}

void print_banner(const std::string &url, const Config &config, const std::string &config_path) {
    std::cout
        << "Task Runner " << TR_VERSION << " is serving on " << url << "\n"
        << "  submit:   curl -X POST " << url
        << "/api/v1/tasks -H 'Content-Type: application/json' -d '{\"task\":\"list the files in "
           ".\"}'\n"
        << "  database: " << config.storage.database << "\n"
        << "  config:   " << config_path << "\n"
        << "Stop with Ctrl-C.\n"
        << std::flush;
}

void run_demo(const ServeOptions &options, const std::string &url, const std::string &host) {
    std::cout << "\nDemo task: " << options.demo_task << "\n" << std::flush;
    Server server(ClientSettings{url, "", "the launcher"}, host);
    follow_task(server, server.client().submit(options.demo_task).task_id, {});
    std::cout << "\nThe stack keeps serving on " << url << "; stop it with Ctrl-C.\n" << std::flush;
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

    // Signals are taken by sigwait in Stack::supervise; children get a clean mask
    // (core/process.cpp).
    const sigset_t signals = block_stop_signals({SIGCHLD});

    const RunDirectory run_dir(config.storage.run_dir);
    const BindAddress bind = *parse_bind_address(config.service.bind_address);
    const std::string url = stack_url(bind);
    // The stack answers only the Host names it is configured for (DNS rebinding); the launcher
    // reaches it on the bind address under the first of them.
    HealthProbe probe(url, launcher_host(config.service, bind));
    Db db(config.storage); // restarts
    Stack stack(config, log, db, probe);
    stack.start(config_path, run_dir.path()); // on failure, ~Stack stops what did start

    warn_when_open(config.service, bind, log);
    print_banner(url, config, config_path);
    if (options.demo)
        run_demo(options, url, launcher_host(config.service, bind));

    const std::optional<std::string> gave_up = stack.supervise(signals);
    stack.stop();
    log.info("launcher.stopped");
    if (gave_up)
        throw Error(ErrorCode::InternalError, *gave_up);
    return 0;
}

} // namespace tr::cli
