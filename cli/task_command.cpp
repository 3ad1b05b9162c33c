// Submitting one task and following it to the end.
#include "cli/task_command.h"

#include "cli/command_line.h"
#include "cli/exit_codes.h"
#include "cli/interrupt.h"
#include "cli/progress.h"
#include "cli/terminal_text.h"
#include "cli/usage_error.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>

namespace tr::cli {
namespace {

// A field of the server's task, as the terminal may show it (see terminal_text).
std::string text_of(const json_t *object, const char *key, Lines lines = Lines::Join) {
    return terminal_text(json_string_member(object, key).value_or(""), lines);
}

void print_step(const json_t *step, std::ostream &out) {
    out << "  [" << json_integer_value(json_object_get(step, "step_number")) << "] "
        << text_of(step, "step_type") << "  " << text_of(step, "description") << "  -> "
        << text_of(step, "status");
    if (const json_t *ms = json_object_get(step, "execution_time_ms"); json_is_integer(ms))
        out << " (" << json_integer_value(ms) << " ms)";
    if (const std::string error = text_of(step, "error"); !error.empty())
        out << ": " << error;
    out << "\n";
}

int positive_number(const Invocation &invocation, std::string_view option, int most) {
    const std::string text = *invocation.value(option);
    char *end = nullptr;
    const long n = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || n < 1 || n > most)
        throw UsageError(std::string(option) + " must be a whole number 1.." +
                         std::to_string(most) + " (got \"" + text.substr(0, 40) + "\")");
    return static_cast<int>(n);
}

task_runner::TaskRequest task_request(const Invocation &invocation) {
    task_runner::TaskRequest request(invocation.operands().front());
    if (to_valid_utf8(request.task) != request.task)
        throw UsageError("the task text is not valid UTF-8");
    request.task_id = invocation.value("--id");
    request.priority = invocation.value("--priority");
    for (const std::string &pair : invocation.values("--metadata")) {
        const std::size_t equals = pair.find('=');
        if (equals == std::string::npos || equals == 0)
            throw UsageError("--metadata takes KEY=VALUE (got \"" + pair.substr(0, 80) + "\")");
        request.metadata[pair.substr(0, equals)] = pair.substr(equals + 1);
    }
    task_runner::TaskContext context;
    context.working_directory = invocation.value("--workdir");
    context.tools = invocation.values("--tool");
    if (invocation.has("--timeout"))
        context.constraints.max_execution_time = positive_number(invocation, "--timeout", 86400);
    if (invocation.has("--max-steps"))
        context.constraints.max_steps = positive_number(invocation, "--max-steps", 1000);
    if (context.working_directory || !context.tools.empty() ||
        context.constraints.max_execution_time || context.constraints.max_steps)
        request.context = std::move(context);
    return request;
}

OutputMode output_mode(const Invocation &invocation) {
    const std::string mode = invocation.value("--output").value_or("text");
    if (mode == "text")
        return OutputMode::Text;
    if (mode == "verbose")
        return OutputMode::Verbose;
    if (mode == "json")
        return OutputMode::Json;
    throw UsageError("--output must be text, verbose or json (got \"" + mode.substr(0, 40) + "\")");
}

// Ctrl-C: the task must not go on running unwatched. Cancel it, say so, exit 130.
int cancel_interrupted(Server &server, const std::string &id) {
    std::cerr << "\ntask-runner: interrupted; cancelling task " << terminal_text(id) << "\n";
    InterruptScope::clear(); // the cancel itself must not be cut short by the same Ctrl-C
    server.set_deadline(std::nullopt);
    try {
        const task_runner::TaskResponse task = server.client().cancel(id);
        std::cerr << "task-runner: task " << terminal_text(id) << " is "
                  << terminal_text(task.status) << "\n";
    } catch (const task_runner::Error &e) {
        // Already ended (409) or the server is gone: say which, and still exit as interrupted.
        std::cerr << "task-runner: could not cancel task " << terminal_text(id) << ": "
                  << terminal_text(e.what()) << "\n";
    }
    return exit_interrupted;
}

} // namespace

void print_task(const json_t *task, OutputMode mode, std::ostream &out) {
    const json_t *result = json_object_get(task, "result");
    const json_t *error = json_object_get(task, "error");
    out << "Task " << text_of(task, "task_id") << ": " << text_of(task, "status");
    if (const json_t *seconds = json_object_get(result, "execution_time");
        json_is_number(seconds)) {
        char text[32];
        std::snprintf(text, sizeof text, " in %.2f s", json_number_value(seconds));
        out << text;
    }
    out << "\n";
    if (json_is_object(error))
        out << "Error (" << text_of(error, "code")
            << "): " << text_of(error, "message", Lines::Keep) << "\n";
    if (mode == OutputMode::Verbose) {
        out << "Steps:\n";
        std::size_t index;
        json_t *step;
        json_array_foreach(json_object_get(task, "steps"), index, step)
            print_step(step, out);
    }
    if (!json_is_object(result))
        return;
    if (const std::string summary = text_of(result, "summary", Lines::Keep);
        !summary.empty() && !json_is_object(error))
        out << "Summary: " << summary << "\n";
    if (const std::string details = text_of(result, "details", Lines::Keep); !details.empty())
        out << "\n" << details << (details.back() == '\n' ? "" : "\n");
    std::size_t index;
    json_t *artifact;
    json_array_foreach(json_object_get(result, "artifacts"), index, artifact) {
        out << "Wrote " << text_of(artifact, "path") << " ("
            << json_integer_value(json_object_get(artifact, "size")) << " bytes)\n";
    }
}

JsonPtr json_of(const std::string &document) {
    JsonPtr parsed(json_loads(document.c_str(), 0, nullptr));
    return parsed ? std::move(parsed) : JsonPtr(json_object());
}

int follow_task(Server &server, const std::string &id, const FollowOptions &options) {
    if (interrupted())
        return cancel_interrupted(server, id);
    // Text goes to stdout, progress first; JSON keeps stdout for the one document and shows
    // progress only to a person watching stderr.
    const bool json = options.output == OutputMode::Json;
    std::FILE *progress_out = json ? stderr : stdout;
    const bool live = is_live_terminal(fileno(progress_out));
    std::optional<Progress> progress;
    if (!json || live)
        progress.emplace(progress_out, live);
    if (options.wait_limit.count() > 0)
        server.set_deadline(std::chrono::steady_clock::now() + options.wait_limit);
    std::cout << std::flush;
    bool waited_out = false;
    try {
        server.client().events(id, [&](const task_runner::TaskEvent &event) {
            if (progress)
                progress->show(id, event);
            return true;
        });
    } catch (const task_runner::Interrupted &) {
        if (!server.past_deadline())
            return cancel_interrupted(server, id);
        waited_out = true; // --wait's time is up: say where the task is, then stop
    }
    progress.reset();
    server.set_deadline(std::nullopt);
    const task_runner::TaskResponse task = server.client().get(id);
    if (json)
        std::cout << task.json << "\n";
    else
        print_task(json_of(task.json).get(), options.output, std::cout);
    if (waited_out && !task.is_terminal()) {
        std::cerr << "task-runner: task " << terminal_text(id) << " is still "
                  << terminal_text(task.status) << " after " << options.wait_limit.count()
                  << " s; follow it with: task-runner events " << terminal_text(id) << "\n";
        return exit_not_completed;
    }
    return task.status == "completed" ? exit_ok : exit_not_completed;
}

int task_command(const Invocation &invocation) {
    FollowOptions options;
    options.output = output_mode(invocation);
    if (invocation.has("--wait"))
        options.wait_limit = std::chrono::seconds(positive_number(invocation, "--wait", 86400));
    const task_runner::TaskRequest request = task_request(invocation);
    Server server(client_settings(invocation));
    const InterruptScope interrupt; // from the submission on: Ctrl-C cancels what was made
    const task_runner::SubmitResponse submitted = server.client().submit(request);
    const std::string &id = submitted.task_id;
    if (invocation.has("--no-wait")) {
        std::cout << (options.output == OutputMode::Json ? submitted.json : terminal_text(id))
                  << "\n";
        return exit_ok;
    }
    return follow_task(server, id, options);
}

} // namespace tr::cli
