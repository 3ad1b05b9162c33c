// task-runner-fcgi: the stateless HTTP handlers behind nginx.
//
//   task-runner-fcgi --socket PATH [--config FILE] [--threads N]   FastCGI server on a unix socket
//   task-runner-fcgi [--config FILE]     with a listening socket on fd 0 (spawn-fcgi): FastCGI
//   task-runner-fcgi                     run by a CGI host: answers the one request and exits
//
// A pool of threads waits in FCGX_Accept_r, each with its own SQLite connection and prepared
// statements. Shutdown (SIGTERM/SIGINT): the main thread, the only one that takes signals,
// shuts the listening socket down, which wakes every accepting thread; requests in progress
// finish, then the process exits.
#include "core/config.h"
#include "core/config_store.h"
#include "core/db.h"
#include "core/log.h"
#include "core/migrate.h"
#include "core/process_stats.h"
#include "core/stop_signals.h"
#include "core/unique_fd.h"
#include "core/unix_socket.h"
#include "core/wake_channel.h"
#include "fcgi/fcgi_request.h"
#include "fcgi/group_commit.h"
#include "fcgi/handlers/routes.h"
#include "fcgi/respond.h"

#include <fcgiapp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <thread>
#include <vector>

extern char **environ;

namespace tr::fcgi {
namespace {

struct Options {
    std::string config_path;
    std::string socket_path;
    int threads = 0; // 0: service.handler_threads
};

[[noreturn]] void usage_error(const std::string &message) {
    std::fprintf(stderr,
                 "task-runner-fcgi: %s\nusage: task-runner-fcgi [--config FILE] [--socket PATH] "
                 "[--threads N]\n",
                 message.c_str());
    std::exit(2);
}

Options parse_options(int argc, char **argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const auto value = [&]() -> std::string {
            if (i + 1 >= argc)
                usage_error(arg + " needs a value");
            return argv[++i];
        };
        if (arg == "--config")
            options.config_path = value();
        else if (arg == "--socket")
            options.socket_path = value();
        else if (arg == "--threads") {
            const std::string text = value();
            char *end = nullptr;
            const long n = std::strtol(text.c_str(), &end, 10);
            if (*end != '\0' || n < 1 || n > 1024)
                usage_error("--threads must be 1..1024 (got \"" + text + "\")");
            options.threads = static_cast<int>(n);
        } else if (arg == "--help" || arg == "-h") {
            std::printf("usage: task-runner-fcgi [--config FILE] [--socket PATH] [--threads N]\n");
            std::exit(0);
        } else {
            usage_error("unknown argument \"" + arg + "\"");
        }
    }
    return options;
}

Router make_router() {
    return Router(all_routes());
}

// A unix socket that nginx (possibly running as another user) can connect to; access is
// governed by the directory it lives in. Refuses to take over a socket a live server holds.
UniqueFd listen_unix(const std::string &path) {
    const sockaddr_un address = unix_socket_address(path);
    if (unix_socket_accepts(path))
        throw Error(ErrorCode::InternalError, "another server is already listening on " + path);
    ::unlink(path.c_str()); // a stale socket from a previous run

    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid())
        throw Error(ErrorCode::InternalError, system_error_text("socket", errno));
    if (::bind(fd.get(), reinterpret_cast<const sockaddr *>(&address), sizeof address) != 0)
        throw Error(ErrorCode::InternalError, system_error_text("bind " + path, errno));
    if (::chmod(path.c_str(), 0666) != 0)
        throw Error(ErrorCode::InternalError, system_error_text("chmod " + path, errno));
    if (::listen(fd.get(), 1024) != 0)
        throw Error(ErrorCode::InternalError, system_error_text("listen " + path, errno));
    return fd;
}

struct Server {
    const Config &config;
    const Log &log;
    const Router &router;
    ProcessState &process;
    std::atomic<bool> failed{false};
};

void serve_requests(Server &server, int listen_fd) {
    try {
        Db db(server.config.storage);
        HandlerContext context{server.config, server.log, db, server.process};
        FcgiRequest request(listen_fd);
        const StreamWriter stream = [&request](std::string_view bytes) {
            return request.write_now(bytes);
        };
        while (request.accept()) {
            const HttpResponse response = respond(
                server.router, context, parse_params(request.params()),
                [&request](char *buffer, std::size_t size) { return request.read(buffer, size); },
                stream);
            if (!response.streamed)
                request.write(serialize_cgi(response));
        }
    } catch (const std::exception &e) {
        // A thread that cannot serve (its database will not open) takes the process down, so
        // the supervisor sees a failure instead of a server with fewer threads than configured.
        server.log.error("worker.failed", {{"error", e.what()}});
        server.failed = true;
        ::kill(::getpid(), SIGTERM);
    }
}

// Adds the request metrics to SQLite about once a second, and once more at the end; samples
// this process's CPU and memory on the way.
void flush_metrics(Server &server, const std::atomic<bool> &stopping) {
    try {
        Db db(server.config.storage);
        ProcessStats stats;
        for (;;) {
            const bool last = stopping.load();
            stats.sample();
            server.process.cpu_percent = stats.cpu_percent();
            server.process.memory_mb = stats.memory_mb();
            try {
                server.process.metrics.flush(db);
            } catch (const std::exception &e) {
                server.log.warn("metrics.flush_failed",
                                {{"error", e.what()}}); // kept for the next try
            }
            if (last)
                return;
            for (int i = 0; i < 10 && !stopping.load(); ++i)
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    } catch (const std::exception &e) {
        server.log.error("metrics.failed", {{"error", e.what()}});
    }
}

int serve_fastcgi(const Config &config, const Log &log, int listen_fd, int threads) {
    const Router router = make_router();
    std::atomic<bool> stopping{false};
    ProcessState process(stopping);
    RunnerWaker runners(wake_directory(config.storage.database), log);
    process.runners = &runners;
    Server server{config, log, router, process};
    std::optional<GroupCommit> submissions;
    submissions.emplace(config, log, process.write_gate);
    process.submissions = &*submissions;

    // Blocked after FCGX_Init (run), which installs libfcgi's own handlers (SIGTERM's among
    // them: it would only mark the library's shutdown as pending), and before the first worker
    // starts: every worker inherits the mask, so only the sigwait below takes a stop signal,
    // and libfcgi's handler never runs in place of the orderly shutdown.
    const sigset_t stop_signals = block_stop_signals();

    std::vector<std::thread> workers;
    workers.reserve(static_cast<std::size_t>(threads));
    for (int i = 0; i < threads; ++i)
        workers.emplace_back(serve_requests, std::ref(server), listen_fd);
    std::thread metrics(flush_metrics, std::ref(server), std::cref(stopping));
    log.info("fcgi.started", {{"threads", threads}, {"pid", static_cast<long>(::getpid())}});

    int signal = 0;
    sigwait(&stop_signals, &signal);
    log.info("fcgi.stopping", {{"signal", strsignal(signal)}});
    stopping = true; // waits and event streams answer now
    FCGX_ShutdownPending();
    ::shutdown(listen_fd, SHUT_RDWR); // wakes every thread blocked in accept(2)
    for (std::thread &worker : workers)
        worker.join();
    submissions.reset(); // after the workers: every submission they made is answered
    metrics.join();      // after the workers: their last requests are counted too
    log.info("fcgi.stopped");
    return server.failed ? 1 : 0;
}

// Plain CGI: one request from the environment and stdin, the answer to stdout.
int serve_cgi(const Config &config, const Log &log) {
    Db db(config.storage);
    const std::atomic<bool> stopping{false};
    ProcessState process(stopping);
    RunnerWaker runners(wake_directory(config.storage.database), log);
    process.runners = &runners;
    HandlerContext context{config, log, db, process};
    const StreamWriter stream = [](std::string_view bytes) {
        std::cout.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        std::cout.flush();
        return static_cast<bool>(std::cout);
    };
    const HttpResponse response = respond(
        make_router(), context, parse_params(environ),
        [](char *buffer, std::size_t size) { return std::fread(buffer, 1, size, stdin); }, stream);
    if (!response.streamed)
        std::cout << serialize_cgi(response) << std::flush;
    try {
        process.metrics.flush(db);
    } catch (const std::exception &e) {
        // Answered already; a database that cannot be written (the 503 just sent said so) or
        // is busy loses this one request's counts, not the answer.
        log.warn("metrics.flush_failed", {{"error", e.what()}});
    }
    return 0;
}

int run(int argc, char **argv) {
    const Options options = parse_options(argc, argv);
    const Config config = load_service_config(options.config_path.empty() ? default_config_path()
                                                                          : options.config_path);
    // Our environment may hold the model key; nothing else, even under our uid, reads it.
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    Log log("fcgi", parse_log_level(config.service.log_level).value_or(LogLevel::Info));
    if (FCGX_Init() != 0)
        throw Error(ErrorCode::InternalError, "FCGX_Init failed");
    const int threads = options.threads ? options.threads : config.service.handler_threads;
    if (!options.socket_path.empty()) {
        const UniqueFd listen_fd = listen_unix(options.socket_path);
        log.info("fcgi.listening", {{"socket", options.socket_path}});
        const int status = serve_fastcgi(config, log, listen_fd.get(), threads);
        ::unlink(options.socket_path.c_str());
        return status;
    }
    if (!FCGX_IsCGI())
        return serve_fastcgi(config, log, 0, threads); // a listening socket handed to us on fd 0
    return serve_cgi(config, log);
}

} // namespace
} // namespace tr::fcgi

int main(int argc, char **argv) {
    try {
        return tr::fcgi::run(argc, argv);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "task-runner-fcgi: %s\n", e.what());
        return 1;
    }
}
