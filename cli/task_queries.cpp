// Reading, listing, cancelling and watching tasks through the API.
#include "cli/task_queries.h"

#include "cli/command_line.h"
#include "cli/exit_codes.h"
#include "cli/interrupt.h"
#include "cli/progress.h"
#include "cli/server.h"
#include "cli/task_command.h"
#include "cli/terminal_text.h"
#include "cli/usage_error.h"

#include <unistd.h>

#include <iomanip>
#include <iostream>

namespace tr::cli {
namespace {

// A field of the server's, as one table cell the terminal may show (see terminal_text).
std::string text_of(const json_t *object, const char *key, std::size_t width = std::string::npos) {
    return terminal_text(json_string_member(object, key).value_or(""), Lines::Join, width);
}

bool json_output(const Invocation &invocation) {
    const std::string mode = invocation.value("--output").value_or("text");
    if (mode != "text" && mode != "json")
        throw UsageError("--output must be text or json (got \"" + mode.substr(0, 40) + "\")");
    return mode == "json";
}

} // namespace

int status_command(const Invocation &invocation) {
    const bool json = json_output(invocation);
    Server server(client_settings(invocation));
    const task_runner::TaskResponse task = server.client().get(invocation.operands().front());
    if (json)
        std::cout << task.json << "\n";
    else
        print_task(json_of(task.json).get(), OutputMode::Verbose, std::cout);
    return exit_ok;
}

int list_command(const Invocation &invocation) {
    const bool json = json_output(invocation);
    task_runner::ListQuery query;
    query.status = invocation.value("--status");
    query.batch_id = invocation.value("--batch");
    query.limit = 20;
    if (invocation.has("--limit")) {
        const std::string text = *invocation.value("--limit");
        char *end = nullptr;
        const long n = std::strtol(text.c_str(), &end, 10);
        if (text.empty() || *end != '\0' || n < 1 || n > 100)
            throw UsageError("--limit must be a whole number 1..100 (got \"" + text.substr(0, 40) +
                             "\")");
        query.limit = static_cast<int>(n);
    }
    Server server(client_settings(invocation));
    const task_runner::TaskList list = server.client().list(query);
    if (json) {
        std::cout << list.json << "\n";
        return exit_ok;
    }
    const JsonPtr page = json_of(list.json);
    std::cout << std::left << std::setw(38) << "ID" << std::setw(11) << "STATUS" << std::setw(10)
              << "PRIORITY" << std::setw(26) << "CREATED"
              << "TASK\n";
    std::size_t index;
    json_t *task;
    json_array_foreach(json_object_get(page.get(), "tasks"), index, task) {
        std::cout << std::setw(38) << text_of(task, "task_id", 37) << std::setw(11)
                  << text_of(task, "status", 10) << std::setw(10) << text_of(task, "priority", 9)
                  << std::setw(26) << text_of(task, "created_at", 25) << text_of(task, "task", 60)
                  << "\n";
    }
    if (const std::string next = text_of(page.get(), "next_cursor"); !next.empty())
        std::cout << "(more: raise --limit, at most 100, or filter with --status)\n";
    return exit_ok;
}

int cancel_command(const Invocation &invocation) {
    const std::string &id = invocation.operands().front();
    Server server(client_settings(invocation));
    try {
        const std::string status = server.client().cancel(id).status;
        if (status == "cancelled")
            std::cout << "Task " << terminal_text(id) << ": cancelled\n";
        else
            std::cout << "Task " << terminal_text(id) << ": " << terminal_text(status)
                      << "; its runner stops it within a second\n";
        return exit_ok;
    } catch (const task_runner::ApiError &e) {
        if (e.http_status() != 409)
            throw;
        // The one expected refusal: it ended before the cancel arrived.
        std::cerr << "task-runner: " << terminal_text(e.what()) << "\n";
        return exit_not_completed;
    }
}

int events_command(const Invocation &invocation) {
    const bool json = json_output(invocation);
    const std::string &id = invocation.operands().front();
    Server server(client_settings(invocation));
    const InterruptScope interrupt; // Ctrl-C stops watching; the task goes on
    std::optional<Progress> progress;
    if (!json)
        progress.emplace(stdout, is_live_terminal(STDOUT_FILENO));
    std::string final_status;
    try {
        server.client().events(id, [&](const task_runner::TaskEvent &event) {
            if (event.kind == "status" && event.status)
                final_status = *event.status;
            if (progress) {
                progress->show(id, event);
                if (event.ends_task())
                    std::cout << "task " << terminal_text(id) << ": " << terminal_text(final_status)
                              << "\n"
                              << std::flush;
                return true;
            }
            JsonPtr data = json_of(event.data_json);
            JsonPtr line(json_pack("{s:I,s:s,s:O}", "id", static_cast<json_int_t>(event.id),
                                   "event", event.kind.c_str(), "data", data.get()));
            std::cout << dump_json(line.get()) << "\n" << std::flush;
            return true;
        });
    } catch (const task_runner::Interrupted &) {
        return exit_interrupted; // Ctrl-C: stop watching; the task goes on
    }
    progress.reset();
    return final_status == "completed" ? exit_ok : exit_not_completed;
}

} // namespace tr::cli
