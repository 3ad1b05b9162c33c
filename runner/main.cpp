// task-runner-runner: the daemon that executes tasks.
//
//   task-runner-runner [--config FILE]
#include "core/config.h"
#include "core/config_store.h"
#include "core/curl.h"
#include "core/db.h"
#include "core/log.h"
#include "core/migrate.h"
#include "runner/runner.h"
#include "runner/sandbox/bubblewrap.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

std::string parse_config_option(int argc, char **argv) {
    std::string config_path;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--config" && i + 1 < argc) {
            config_path = argv[++i];
        } else if (arg == "--help" || arg == "-h") {
            std::printf("usage: task-runner-runner [--config FILE]\n");
            std::exit(0);
        } else {
            std::fprintf(stderr,
                         "task-runner-runner: unknown argument \"%s\"\nusage: task-runner-runner "
                         "[--config FILE]\n",
                         arg.c_str());
            std::exit(2);
        }
    }
    return config_path.empty() ? tr::default_config_path() : config_path;
}

int run(int argc, char **argv) {
    const tr::Config config = tr::load_service_config(parse_config_option(argc, argv));
    tr::Log log("runner",
                tr::parse_log_level(config.service.log_level).value_or(tr::LogLevel::Info));
    // Only the main thread takes stop signals (sigwait); every thread created later inherits
    // the mask, and child processes reset it before exec.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    const tr::runner::SandboxKind sandbox = tr::runner::choose_sandbox(config.tools.sandbox, log);
    tr::runner::Runner runner(config, log, sandbox);
    return runner.run(stop_signals);
}

} // namespace

int main(int argc, char **argv) {
    try {
        const tr::CurlGlobal curl; // before any thread, as libcurl requires
        return run(argc, argv);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "task-runner-runner: %s\n", e.what());
        return 1;
    }
}
