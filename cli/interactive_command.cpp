// The REPL.
#include "cli/interactive_command.h"

#include "cli/command_line.h"
#include "cli/exit_codes.h"
#include "cli/interrupt.h"
#include "cli/line_reader.h"
#include "cli/task_command.h"
#include "cli/terminal_text.h"
#include "cli/usage_error.h"
#include "cli/user_dirs.h"
#include "core/paths.h"

#include <unistd.h>

#include <iostream>

namespace tr::cli {
namespace {

constexpr const char *repl_help =
    "Type a task and press Enter to run it, with its steps as they happen; Ctrl-C while it\n"
    "runs cancels it. Commands:\n"
    "  :status [ID]   the task (default: the last one run here)\n"
    "  :cancel [ID]   cancel the task (default: the last one)\n"
    "  :list          the 10 newest tasks\n"
    "  :help          this text\n"
    "  :quit          leave (so does Ctrl-D)\n";

// A field of the server's, on one line as the terminal may show it (see terminal_text).
std::string text_of(const json_t *object, const char *key, std::size_t width = std::string::npos) {
    return terminal_text(json_string_member(object, key).value_or(""), Lines::Join, width);
}

std::string trimmed(const std::string &text) {
    const std::size_t first = text.find_first_not_of(" \t");
    if (first == std::string::npos)
        return "";
    return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

class Repl {
public:
    Repl(Server &server, OutputMode output) : server_(server), output_(output) {}

    // Runs one line; false when it asks to leave.
    bool run_line(const std::string &line) {
        const std::string text = trimmed(line);
        if (text.empty() || text[0] == '#')
            return true;
        if (text[0] != ':') {
            run_task(text);
            return true;
        }
        const std::size_t space = text.find(' ');
        const std::string command = text.substr(0, space);
        const std::string argument = space == std::string::npos ? "" : trimmed(text.substr(space));
        if (command == ":quit" || command == ":q" || command == ":exit")
            return false;
        if (command == ":help" || command == ":h" || command == ":?")
            std::cout << repl_help;
        else if (command == ":status")
            with_task(argument, [&](const std::string &id) {
                print_task(json_of(server_.client().get(id).json).get(), OutputMode::Verbose,
                           std::cout);
            });
        else if (command == ":cancel")
            with_task(argument, [&](const std::string &id) {
                std::cout << "Task " << terminal_text(id) << ": "
                          << terminal_text(server_.client().cancel(id).status) << "\n";
            });
        else if (command == ":list")
            list();
        else
            std::cout << "unknown command " << terminal_text(command) << "; :help lists them\n";
        return true;
    }

    int worst() const noexcept { return worst_; }

private:
    void note(int status) {
        // 3 (refused) outranks 1 (not completed): the exit status says the worst that happened.
        if (status == exit_server || (status == exit_not_completed && worst_ == exit_ok))
            worst_ = status;
    }

    template <typename Action> void with_task(const std::string &argument, Action action) {
        const std::string id = argument.empty() ? last_id_ : argument;
        if (id.empty()) {
            std::cout << "no task yet: give its id\n";
            return;
        }
        try {
            action(id);
        } catch (const task_runner::Error &e) {
            std::cout << "task-runner: " << terminal_text(e.what()) << "\n";
            // As `task-runner cancel` says it: a task that had already ended is 1, not 3.
            note(http_status_of(e) == 409 ? exit_not_completed : exit_server);
        }
    }

    void run_task(const std::string &text) {
        if (to_valid_utf8(text) != text) {
            std::cout << "the task text is not valid UTF-8\n";
            return;
        }
        try {
            const InterruptScope interrupt; // Ctrl-C cancels this task, not the session
            last_id_ = server_.client().submit(text).task_id;
            FollowOptions options;
            options.output = output_;
            const int status = follow_task(server_, last_id_, options);
            note(status == exit_interrupted ? exit_not_completed : status);
        } catch (const task_runner::Error &e) {
            std::cout << "task-runner: " << terminal_text(e.what()) << "\n";
            note(exit_server);
        }
    }

    void list() {
        try {
            task_runner::ListQuery query;
            query.limit = 10;
            const JsonPtr page = json_of(server_.client().list(query).json);
            std::size_t index;
            json_t *task;
            json_array_foreach(json_object_get(page.get(), "tasks"), index, task) {
                std::cout << text_of(task, "task_id") << "  " << text_of(task, "status") << "  "
                          << text_of(task, "task", 60) << "\n";
            }
        } catch (const task_runner::Error &e) {
            std::cout << "task-runner: " << terminal_text(e.what()) << "\n";
            note(exit_server);
        }
    }

    Server &server_;
    OutputMode output_;
    std::string last_id_;
    int worst_ = exit_ok;
};

std::string history_path() {
    try {
        const std::string directory = user_state_dir();
        make_private_directories(directory);
        return join_path(directory, "history");
    } catch (const std::exception &e) {
        // No home to keep it in: the session works, it is just not remembered.
        std::cerr << "task-runner: no history file: " << e.what() << "\n";
        return "";
    }
}

} // namespace

int interactive_command(const Invocation &invocation) {
    const std::string mode = invocation.value("--output").value_or("text");
    if (mode != "text" && mode != "verbose" && mode != "json")
        throw UsageError("--output must be text, verbose or json (got \"" + mode.substr(0, 40) +
                         "\")");
    const OutputMode output = mode == "json"      ? OutputMode::Json
                              : mode == "verbose" ? OutputMode::Verbose
                                                  : OutputMode::Text;
    Server server(client_settings(invocation));
    LineReader reader("task> ", ::isatty(STDIN_FILENO) ? history_path() : "");
    if (reader.interactive())
        std::cout << "Task Runner " << TR_VERSION << " at " << server.url()
                  << ". One task per line; :help for commands, :quit or Ctrl-D to leave.\n";
    Repl repl(server, output);
    while (const std::optional<std::string> line = reader.read_line()) {
        if (!repl.run_line(*line))
            break;
        std::cout << std::flush;
    }
    return repl.worst();
}

} // namespace tr::cli
