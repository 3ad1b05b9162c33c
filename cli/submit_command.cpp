// Submitting a tasks file as a batch: ids from the file, a lock against overlapping runs, and
// an exit status a cron job can act on.
#include "cli/submit_command.h"

#include "cli/client_settings.h"
#include "cli/command_line.h"
#include "cli/exit_codes.h"
#include "cli/file_lock.h"
#include "cli/interrupt.h"
#include "cli/server.h"
#include "cli/task_command.h"
#include "cli/tasks_file.h"
#include "cli/terminal_text.h"
#include "cli/usage_error.h"
#include "cli/user_dirs.h"
#include "core/digest.h"
#include "core/error.h"
#include "core/paths.h"

#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <thread>

namespace tr::cli {
namespace {

constexpr std::chrono::milliseconds batch_poll_interval{500};

std::string text_of(const json_t *object, const char *key) {
    return json_string_member(object, key).value_or("");
}

std::string read_input(const std::string &path) {
    if (path == "-") {
        std::ostringstream all;
        all << std::cin.rdbuf();
        return all.str();
    }
    std::ifstream file(path, std::ios::binary);
    if (!file)
        throw InputError(system_error_text(path + ": cannot be read", errno));
    return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

task_runner::BatchRequest batch_request(const TasksFile &file, const Invocation &invocation) {
    std::string mode = invocation.value("--mode").value_or(file.mode.value_or("parallel"));
    if (mode != "parallel" && mode != "sequential")
        throw UsageError("--mode must be parallel or sequential (got \"" + mode.substr(0, 40) +
                         "\")");
    task_runner::BatchRequest batch;
    batch.mode = mode;
    batch.continue_on_error =
        invocation.has("--continue-on-error") || file.continue_on_error.value_or(false);
    const std::optional<std::string> priority = invocation.value("--priority");
    for (const FileTask &task : file.tasks) {
        task_runner::TaskRequest request = library_request(file, task);
        if (!request.priority)
            request.priority = priority;
        batch.tasks.push_back(std::move(request));
    }
    return batch;
}

// 400, 409, 413: the file (or how it was combined with the options) is what the server refused.
bool refuses_the_input(const task_runner::Error &e) {
    const int status = http_status_of(e);
    return status == 400 || status == 409 || status == 413 || status == 422;
}

int refused(const TasksFile &file, const task_runner::Error &e) {
    if (unreachable_or_refused_key(e) || !refuses_the_input(e)) {
        std::cerr << "task-runner: " << terminal_text(e.what(), Lines::Keep) << "\n";
        return exit_server;
    }
    const std::optional<int> line = line_of_task_message(file, e.what());
    std::cerr << "task-runner: " << terminal_text(file.name) << ":" << line.value_or(1) << ": "
              << terminal_text(e.what(), Lines::Keep) << "\n";
    if (http_status_of(e) == 409)
        std::cerr << "task-runner: the ids derived from this file are taken by a different "
                     "request: a changed file with the same --id-prefix, or another key's "
                     "tasks\n";
    return exit_bad_input;
}

bool is_finished(const std::string &status) {
    return status == "completed" || status == "failed" || status == "cancelled" ||
           status == "timeout";
}

// Polls the batch until every task has ended, `limit` passes (0: no limit) or Ctrl-C.
JsonPtr wait_for_batch(Server &server, const std::string &batch_id, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        JsonPtr batch = json_of(server.client().get_batch(batch_id).json);
        const std::string status = text_of(batch.get(), "status");
        if (status != "queued" && status != "running")
            return batch;
        if ((limit.count() > 0 && std::chrono::steady_clock::now() >= deadline) || interrupted())
            return batch;
        std::this_thread::sleep_for(batch_poll_interval);
    }
}

void print_report(const TasksFile &file, const json_t *reply, bool created, const json_t *tasks,
                  bool json) {
    if (json) {
        JsonPtr report(json_deep_copy(reply));
        json_object_set_new(report.get(), "created", json_boolean(created));
        json_object_set(report.get(), "tasks", const_cast<json_t *>(tasks));
        std::cout << dump_json(report.get()) << "\n";
        return;
    }
    const std::size_t count = json_array_size(tasks);
    std::cout << "Batch " << terminal_text(text_of(reply, "batch_id")) << " ("
              << terminal_text(text_of(reply, "mode")) << "): " << count
              << (count == 1 ? " task " : " tasks ")
              << (created ? "submitted" : "submitted before, nothing new created") << "\n";
    std::size_t index;
    json_t *task;
    json_array_foreach(const_cast<json_t *>(tasks), index, task) {
        const int line = index < file.tasks.size() ? file.tasks[index].line : 0;
        std::cout << "  " << terminal_text(file.name) << ":" << line << "  "
                  << terminal_text(text_of(task, "task_id")) << "  "
                  << terminal_text(text_of(task, "status")) << "\n";
    }
}

std::chrono::seconds wait_limit_of(const Invocation &invocation) {
    const std::optional<std::string> seconds = invocation.value("--wait");
    if (!seconds)
        return std::chrono::seconds(0); // no --wait, or --wait without a limit
    char *end = nullptr;
    const long n = std::strtol(seconds->c_str(), &end, 10);
    if (*end != '\0' || n < 1 || n > 86400)
        throw UsageError("--wait takes a whole number of seconds 1..86400 (got \"" +
                         seconds->substr(0, 40) + "\")");
    return std::chrono::seconds(n);
}

// --lock, else one per tasks file (standard input: one per content) in the user's state dir.
std::string lock_path_for(const Invocation &invocation, const TasksFile &file) {
    if (const std::optional<std::string> named = invocation.value("--lock"))
        return *named;
    const std::string key = file.name == "-" ? "stdin-" + file.content_hash.substr(0, 16)
                                             : absolute_path(file.name, current_directory());
    std::string path = default_lock_path(key);
    make_private_directories(parent_directory(path));
    return path;
}

// 0 when every task completed, else 1; names those still unfinished when the wait ended.
int outcome(const json_t *tasks, std::chrono::seconds wait_limit) {
    std::size_t index;
    json_t *task;
    bool all_completed = true;
    json_array_foreach(const_cast<json_t *>(tasks), index, task) {
        const std::string status = text_of(task, "status");
        all_completed = all_completed && status == "completed";
        if (!is_finished(status))
            std::cerr << "task-runner: task " << terminal_text(text_of(task, "task_id"))
                      << " is still " << terminal_text(status) << " after " << wait_limit.count()
                      << " s\n";
    }
    return all_completed ? exit_ok : exit_not_completed;
}

} // namespace

std::string default_lock_path(const std::string &absolute_path) {
    const std::string suffix = "-" + sha256_hex(absolute_path).substr(0, 12) + ".lock";
    std::string name = absolute_path.substr(absolute_path.rfind('/') + 1);
    // The hash keeps a shortened name unique; the name is only there for a human to read. Cut
    // at a character boundary, not inside a UTF-8 sequence.
    if (name.size() + suffix.size() > NAME_MAX) {
        std::size_t keep = NAME_MAX - suffix.size();
        while (keep > 0 && (static_cast<unsigned char>(name[keep]) & 0xC0) == 0x80)
            --keep;
        name.resize(keep);
    }
    return join_path(join_path(user_state_dir(), "locks"), name + suffix);
}

int submit_command(const Invocation &invocation) {
    const std::string &path = invocation.operands().front();
    const std::chrono::seconds wait_limit = wait_limit_of(invocation);
    const std::string output = invocation.value("--output").value_or("text");
    if (output != "text" && output != "json")
        throw UsageError("--output must be text or json (got \"" + output.substr(0, 40) + "\")");
    const std::string content = read_input(path);
    const ClientSettings settings = client_settings(invocation);
    const TasksFile file =
        parse_tasks_file(path, content, invocation.value("--id-prefix"), settings.key);
    const task_runner::BatchRequest batch = batch_request(file, invocation);

    std::string lock_path;
    std::optional<FileLock> lock;
    try {
        lock_path = lock_path_for(invocation, file);
        lock = FileLock::try_take(lock_path);
    } catch (const Error &e) {
        throw InputError(e.what()); // a local file, not the server: exit status 2
    }
    if (!lock) {
        const std::string holder = lock_holder(lock_path);
        std::cerr << "task-runner: another run holds the lock " << lock_path
                  << (holder.empty() ? "" : " (" + holder + ")") << "; not submitting " << path
                  << "\n";
        return exit_locked;
    }

    Server server(settings);
    const InterruptScope interrupt; // Ctrl-C stops waiting; the batch goes on
    JsonPtr reply;
    bool created = false;
    try {
        const task_runner::BatchResponse answer = server.client().batch(batch);
        created = answer.created;
        reply = json_of(answer.json);
    } catch (const task_runner::Interrupted &) {
        return exit_interrupted;
    } catch (const task_runner::Error &e) {
        return refused(file, e);
    }
    const json_t *accepted = json_object_get(reply.get(), "tasks");
    if (!invocation.has("--wait")) {
        print_report(file, reply.get(), created, accepted, output == "json");
        return exit_ok;
    }
    JsonPtr finished;
    try {
        finished = wait_for_batch(server, text_of(reply.get(), "batch_id"), wait_limit);
    } catch (const task_runner::Interrupted &) {
        return exit_interrupted; // Ctrl-C: stop waiting; the batch goes on
    } catch (const task_runner::Error &e) {
        std::cerr << "task-runner: " << terminal_text(e.what(), Lines::Keep) << "\n";
        return exit_server;
    }
    const json_t *tasks = json_object_get(finished.get(), "tasks");
    print_report(file, reply.get(), created, tasks, output == "json");
    return interrupted() ? exit_interrupted : outcome(tasks, wait_limit);
}

} // namespace tr::cli
