// task-runner-runner: the daemon that executes tasks.
//
//   task-runner-runner [--config FILE] [--run-dir DIR]
//   task-runner-runner --watchdog FD --timeout-ms N   (started by the runner itself)
//
// --run-dir names the launcher's run directory (the handlers' socket, nginx's state), which
// commands must never see. --watchdog is the runner's watchdog process (runner/watchdog.h).
#include "core/config.h"
#include "core/config_store.h"
#include "core/curl.h"
#include "core/db.h"
#include "core/log.h"
#include "core/migrate.h"
#include "core/paths.h"
#include "core/stop_signals.h"
#include "runner/runner.h"
#include "runner/sandbox/sandbox.h"
#include "runner/watchdog.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

constexpr const char *usage = "usage: task-runner-runner [--config FILE] [--run-dir DIR]\n";

struct Options {
    std::string config_path;
    std::string run_dir;
};

Options parse_options(int argc, char **argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--config" && i + 1 < argc) {
            options.config_path = argv[++i];
        } else if (arg == "--run-dir" && i + 1 < argc) {
            options.run_dir = argv[++i];
        } else if (arg == "--help" || arg == "-h") {
            std::printf("%s", usage);
            std::exit(0);
        } else {
            std::fprintf(stderr, "task-runner-runner: unknown argument \"%s\"\n%s", arg.c_str(),
                         usage);
            std::exit(2);
        }
    }
    if (options.config_path.empty())
        options.config_path = tr::default_config_path();
    return options;
}

std::string program_path() {
    char path[4096];
    const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
    return n > 0 ? std::string(path, static_cast<std::size_t>(n)) : "";
}

// `--watchdog FD --timeout-ms N`: the watchdog process. It ignores the stop signals the
// launcher sends the stack: it ends when the runner's pipe closes, after the commands.
int run_watchdog(int argc, char **argv) {
    if (argc != 5 || std::string(argv[3]) != "--timeout-ms") {
        std::fprintf(stderr, "usage: task-runner-runner --watchdog FD --timeout-ms N\n");
        return 2;
    }
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    for (const int signal : {SIGTERM, SIGINT, SIGHUP, SIGPIPE})
        std::signal(signal, SIG_IGN);
    const tr::Log log("watchdog", tr::LogLevel::Info);
    return tr::runner::run_watchdog(std::atoi(argv[2]),
                                    std::chrono::milliseconds(std::atol(argv[4])), log);
}

int run(int argc, char **argv) {
    const Options options = parse_options(argc, argv);
    const tr::Config config = tr::load_service_config(options.config_path);
    tr::Log log("runner",
                tr::parse_log_level(config.service.log_level).value_or(tr::LogLevel::Info));
    // Only the main thread takes stop signals (sigwait); every thread created later inherits
    // the mask, and child processes reset it before exec.
    const sigset_t stop_signals = tr::block_stop_signals();
    std::signal(SIGPIPE, SIG_IGN);

    // Commands run as another user, in namespaces of their own; none of them may read this
    // process's memory or environment (its model key), however it runs (PR_SET_DUMPABLE).
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    // Open for as long as the runner runs: while a connection is open, the database's -wal and
    // -shm stay in place (the last one to close deletes both), so the masks the sandbox plans
    // for them at each command still exist when bwrap mounts them.
    const tr::Db keeps_wal_in_place(config.storage);
    // Commands die when leases can no longer be renewed, before the lease lapses and another
    // attempt can start: three quarters of the lease without a renewal.
    const tr::runner::Watchdog watchdog(
        program_path(), std::chrono::milliseconds(config.execution.lease_seconds * 750));
    tr::runner::Sandbox sandbox = tr::runner::Sandbox::set_up(
        config, options.run_dir, tr::parent_directory(program_path()), log);
    sandbox.set_watchdog(&watchdog);
    tr::runner::Runner runner(config, log, sandbox, watchdog);
    return runner.run(stop_signals);
}

} // namespace

int main(int argc, char **argv) {
    try {
        if (argc > 1 && std::string(argv[1]) == "--watchdog")
            return run_watchdog(argc, argv);
        const tr::CurlGlobal curl; // before any thread, as libcurl requires
        return run(argc, argv);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "task-runner-runner: %s\n", e.what());
        return 1;
    }
}
