// The Task Runner client: one Client, two transports, chosen by ClientBuilder.
//
//   HTTP, to a server (nginx in front of the handlers):
//     task_runner::Client client = task_runner::ClientBuilder()
//                                      .http("http://127.0.0.1:8080")
//                                      .api_key(key)
//                                      .timeout(std::chrono::seconds(30))
//                                      .build();
//   in-process, with no server at all: the library opens the database itself (migrating it)
//   and runs an embedded runner on threads of this process, executing the tasks in the
//   configured sandbox:
//     task_runner::Client client =
//         task_runner::ClientBuilder().in_process("/var/lib/task-runner/tasks.db").build();
//
//   task_runner::TaskResponse done = client.execute_simple_task("list the files in .");
//
// Both transports speak the same API (the in-process one routes each request through the
// server's own handlers), so a program behaves the same either way. Errors: task_runner/error.h.
// A Client is movable, not copyable, and not thread-safe: one per thread (HTTP: each has its own
// kept-alive connection). An in-process Client stops its runner when destroyed, letting running
// tasks finish for the configured grace period and giving the rest back to the queue.
#pragma once

#include <task_runner/error.h>
#include <task_runner/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace task_runner {

// Called with each event; return false to stop following.
using EventCallback = std::function<bool(const TaskEvent &event)>;

struct EventOptions {
    // Resume after this event id (a previous events() call's last_event_id): only later events.
    std::optional<std::int64_t> last_event_id;
    // How often in a row a lost connection is retried without a new event in between before
    // events() throws the TransportError (or ApiError) of the last try.
    int reconnect_attempts = 5;
};

struct EventStreamEnd {
    std::optional<std::int64_t> last_event_id; // of the last event delivered
    bool task_ended = false;                   // false: the callback stopped the stream
};

class Client {
public:
    Client(Client &&other) noexcept;
    Client &operator=(Client &&other) noexcept;
    Client(const Client &) = delete;
    Client &operator=(const Client &) = delete;
    ~Client();

    // Submits `task`, waits for it to end (at most `timeout`) and returns it: the original
    // project's first example. A task still running after `timeout` is returned as it is.
    TaskResponse execute_simple_task(const std::string &task,
                                     std::chrono::milliseconds timeout = std::chrono::minutes(5));

    // POST /api/v1/tasks: queues the task and returns at once.
    SubmitResponse submit(const TaskRequest &request);
    // GET /api/v1/tasks/{id}.
    TaskResponse get(const std::string &task_id);
    // The task once it has ended, or as it is when `timeout` has passed (check is_terminal()).
    TaskResponse wait(const std::string &task_id, std::chrono::milliseconds timeout);
    // DELETE /api/v1/tasks/{id}: a queued task is cancelled at once, a running one shortly
    // after (the answer may still say running). ApiError 409 CONFLICT when it has ended.
    TaskResponse cancel(const std::string &task_id);
    // POST /api/v1/tasks/batch.
    BatchResponse batch(const BatchRequest &request);
    // GET /api/v1/batches/{id}.
    BatchStatus get_batch(const std::string &batch_id);
    // GET /api/v1/tasks: one page, newest first.
    TaskList list(const ListQuery &query = {});
    // GET /api/v1/status.
    ServiceStatus status();
    // GET /health: whether the service says it is healthy (the body's JSON in `json`, if any).
    bool healthy(std::string *json = nullptr);

    // Follows GET /api/v1/tasks/{id}/events, calling `callback` with each event in order, until
    // the task has ended (after its last event) or the callback returns false. A connection
    // that ends or breaks early is resumed with Last-Event-ID, so no event is lost or repeated.
    EventStreamEnd events(const std::string &task_id, const EventCallback &callback,
                          const EventOptions &options = {});

    class Impl; // the library's; opaque here

private:
    friend class ClientBuilder;
    explicit Client(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

class ClientBuilder {
public:
    ClientBuilder();
    ClientBuilder(const ClientBuilder &);
    ClientBuilder &operator=(const ClientBuilder &);
    ClientBuilder(ClientBuilder &&) noexcept;
    ClientBuilder &operator=(ClientBuilder &&) noexcept;
    ~ClientBuilder();

    // HTTP transport to `base_url` ("http://host:port", no path).
    ClientBuilder &http(std::string base_url);
    // Sent as "Authorization: Bearer KEY" on every request; never logged.
    ClientBuilder &api_key(std::string key);
    // Per request (default 30 s); a wait or an event stream is given its own time on top.
    ClientBuilder &timeout(std::chrono::milliseconds limit);
    // For connecting (default 5 s).
    ClientBuilder &connect_timeout(std::chrono::milliseconds limit);
    // Sends "Host: HOST" instead of the URL's (a server reached on an address that is not one
    // of its service.allowed_hosts).
    ClientBuilder &host_header(std::string host);

    // In-process transport on the database at `database_path` (created and migrated if need
    // be), with the built-in defaults for everything else: tasks work in the current
    // directory, with the builtin model unless one is configured through the API. The
    // process is made non-dumpable (as the runner program is) and needs the task-runner-runner
    // program installed beside the library (for the runner's watchdog). The interrupt check is
    // polled between requests; a wait or an event stream runs to its end.
    ClientBuilder &in_process(std::string database_path);
    // For an in-process client: where its tasks work (tools.working_directory, and the one
    // directory they may read and write); default: the configuration's, for in_process() the
    // current directory. The database must not be inside it (tasks could move it away).
    ClientBuilder &working_directory(std::string directory);
    // In-process transport configured by a task-runner.cfg file (its storage.database), with
    // the environment's overrides, as the server reads it.
    ClientBuilder &in_process_config(std::string config_path);

    // Polled while a request is in progress (several times a second): when it returns true the
    // request is abandoned and the method throws Interrupted. For Ctrl-C: the signal handler
    // sets a flag, the check reads it.
    ClientBuilder &interrupt_when(std::function<bool()> check);

    // Throws Error when no transport was chosen or the in-process one cannot start (its
    // database, configuration or sandbox cannot be used).
    Client build() const;

    struct Settings; // the library's; opaque here

private:
    std::unique_ptr<Settings> settings_;
};

// The library's version, "0.1.0".
const char *version() noexcept;

} // namespace task_runner
