// Submitting one task and following it to the end.
#include "cli/task_command.h"

#include "cli/usage_error.h"
#include "core/error.h"
#include "core/task.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <thread>

namespace tr::cli {
namespace {

constexpr std::chrono::milliseconds poll_interval{200};

std::string text_of(const json_t *object, const char *key) {
    return json_string_member(object, key).value_or("");
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

void print_text(const json_t *task, OutputMode mode, std::ostream &out) {
    const std::string status = text_of(task, "status");
    const json_t *result = json_object_get(task, "result");
    const json_t *error = json_object_get(task, "error");
    out << "Task " << text_of(task, "task_id") << ": " << status;
    if (const json_t *seconds = json_object_get(result, "execution_time");
        json_is_number(seconds)) {
        char text[32];
        std::snprintf(text, sizeof text, " in %.2f s", json_number_value(seconds));
        out << text;
    }
    out << "\n";
    if (json_is_object(error))
        out << "Error (" << text_of(error, "code") << "): " << text_of(error, "message") << "\n";
    if (mode == OutputMode::Verbose) {
        out << "Steps:\n";
        size_t index;
        json_t *step;
        json_array_foreach(json_object_get(task, "steps"), index, step)
            print_step(step, out);
    }
    if (json_is_object(result)) {
        if (const std::string summary = text_of(result, "summary");
            !summary.empty() && !json_is_object(error))
            out << "Summary: " << summary << "\n";
        if (const std::string details = text_of(result, "details"); !details.empty())
            out << "\n" << details << (details.back() == '\n' ? "" : "\n");
        size_t index;
        json_t *artifact;
        json_array_foreach(json_object_get(result, "artifacts"), index, artifact) {
            out << "Wrote " << text_of(artifact, "path") << " ("
                << json_integer_value(json_object_get(artifact, "size")) << " bytes)\n";
        }
    }
}

} // namespace

int run_task(ApiClient &client, const TaskOptions &options) {
    JsonPtr request(json_pack("{s:s}", "task", options.task.c_str()));
    if (!request)
        throw UsageError("the task text is not valid UTF-8");
    if (!options.priority.empty())
        json_object_set_new(request.get(), "priority", json_string(options.priority.c_str()));
    const JsonPtr submitted = client.submit_task(request.get());
    const std::string id = text_of(submitted.get(), "task_id");
    if (options.progress)
        std::cerr << "Submitted task " << id << "\n";

    const auto started = std::chrono::steady_clock::now();
    std::size_t steps_shown = 0;
    for (;;) {
        JsonPtr task = client.get_task(id);
        if (options.progress) {
            const json_t *steps = json_object_get(task.get(), "steps");
            for (; steps_shown < json_array_size(steps); ++steps_shown) {
                const json_t *step = json_array_get(steps, steps_shown);
                if (text_of(step, "status") == "running")
                    break; // shown once it has ended, with its outcome
                print_step(step, std::cerr);
            }
        }
        const std::optional<TaskStatus> status = parse_task_status(text_of(task.get(), "status"));
        if (status && is_terminal(*status)) {
            if (options.output == OutputMode::Json)
                std::cout << dump_json(task.get()) << "\n";
            else
                print_text(task.get(), options.output, std::cout);
            return *status == TaskStatus::Completed ? 0 : 1;
        }
        if (options.wait_limit.count() > 0 &&
            std::chrono::steady_clock::now() - started > options.wait_limit) {
            std::cerr << "task-runner: task " << id << " is still " << text_of(task.get(), "status")
                      << " after " << options.wait_limit.count()
                      << " s; follow it with: task-runner status " << id << "\n";
            return 1;
        }
        std::this_thread::sleep_for(poll_interval);
    }
}

int task_command(const std::vector<std::string> &args) {
    TaskOptions options;
    std::string server = default_server_url();
    std::string key = default_client_key();
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string &arg = args[i];
        const auto value = [&]() -> std::string {
            if (i + 1 >= args.size())
                throw UsageError(arg + " needs a value");
            return args[++i];
        };
        if (arg == "--server") {
            server = value();
        } else if (arg == "--key") {
            key = value();
        } else if (arg == "--output" || arg == "-o") {
            const std::string mode = value();
            if (mode == "text")
                options.output = OutputMode::Text;
            else if (mode == "verbose")
                options.output = OutputMode::Verbose;
            else if (mode == "json")
                options.output = OutputMode::Json;
            else
                throw UsageError("--output must be text, verbose or json (got \"" + mode + "\")");
        } else if (arg == "--priority") {
            options.priority = value();
        } else if (arg == "--wait") {
            const std::string seconds = value();
            char *end = nullptr;
            const long n = std::strtol(seconds.c_str(), &end, 10);
            if (*end != '\0' || n < 1)
                throw UsageError("--wait must be a number of seconds (got \"" + seconds + "\")");
            options.wait_limit = std::chrono::seconds(n);
        } else if (!arg.empty() && arg[0] == '-') {
            throw UsageError("unknown option " + arg);
        } else if (options.task.empty()) {
            options.task = arg;
        } else {
            throw UsageError("one task at a time; quote the task text");
        }
    }
    if (options.task.empty())
        throw UsageError("say what to do: task-runner task \"list the files in .\"");
    options.progress = options.output != OutputMode::Json && ::isatty(STDERR_FILENO);
    ApiClient client(server, key);
    return run_task(client, options);
}

} // namespace tr::cli
