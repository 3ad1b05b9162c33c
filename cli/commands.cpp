// The subcommand table.
#include "cli/commands.h"

#include "cli/config_command.h"
#include "cli/exit_codes.h"
#include "cli/interactive_command.h"
#include "cli/keys_command.h"
#include "cli/nginx_site_command.h"
#include "cli/retention_commands.h"
#include "cli/serve_command.h"
#include "cli/submit_command.h"
#include "cli/task_command.h"
#include "cli/task_queries.h"
#include "cli/usage_error.h"

#include <iostream>

namespace tr::cli {
namespace {

const Option server_option{"--server", "URL",
                           "the server (else $TASK_RUNNER_URL, else client.conf's url, else "
                           "http://127.0.0.1:8080)"};
const Option key_option{"--key", "KEY",
                        "the API key (else $TASK_RUNNER_KEY, else client.conf's key); other "
                        "users can see command lines, so prefer those two"};
const Option config_option{"--config", "FILE",
                           "the service's configuration file (else $TASK_RUNNER_CONFIG, else "
                           "the build's config/task-runner.cfg, or an installed program's "
                           "SYSCONFDIR/task-runner/task-runner.cfg)"};

const ExitCode usage_exit{exit_bad_input, "wrong usage: an unknown option, a missing operand"};
const ExitCode server_exit{exit_server,
                           "the server could not be reached, or refused the request or the key"};

int help_command(const Invocation &invocation);
int version_command(const Invocation &) {
    std::cout << "task-runner " << TR_VERSION << "\n";
    return exit_ok;
}

Command task_command_spec() {
    return Command{
        "task",
        "\"TEXT\"",
        "Submit one task, show its plan and steps as they happen, and print its result.",
        {server_option,
         key_option,
         {"--output", "text|verbose|json",
          "text (default), verbose (every step of the result too), or json (only the task's "
          "JSON on stdout; progress, if any, on stderr)"},
         {"--no-wait", "", "print the task's id and exit 0 without waiting"},
         {"--wait", "SECONDS", "stop waiting after SECONDS (exit 1; the task goes on)"},
         {"--timeout", "SECONDS",
          "the task's own time limit on the server (context.constraints.max_execution_time)"},
         {"--priority", "P", "low, normal (default), high or critical"},
         {"--workdir", "DIR", "the task's working directory (context.working_directory)"},
         {"--tool", "NAME", "allow only these tools (context.tools)", true},
         {"--max-steps", "N", "at most N steps (context.constraints.max_steps)"},
         {"--metadata", "KEY=VALUE", "a metadata entry", true},
         {"--id", "ID",
          "the task's id (an idempotency key: the same request again is the same task)"}},
        "On a terminal the running step has a spinner; piped, each change is one plain line. "
        "Ctrl-C while waiting cancels the task on the server and exits 130.",
        {{exit_ok, "the task completed (with --no-wait: it was accepted)"},
         {exit_not_completed,
          "the task failed, timed out or was cancelled, or is still running when --wait ends"},
         usage_exit,
         server_exit,
         {exit_interrupted, "Ctrl-C: the task was cancelled on the server"}},
        1,
        1,
        task_command,
        nullptr};
}

Command interactive_command_spec() {
    return Command{
        "interactive",
        "",
        "A session: each line is a task, run with live steps; :status [ID], :cancel [ID], "
        ":list, :help, :quit.",
        {server_option,
         key_option,
         {"--output", "text|verbose|json", "how each task's result is shown (default text)"}},
        "On a terminal lines are edited with libedit (emacs keys, ~/.editrc) and kept in "
        "$XDG_STATE_HOME/task-runner/history (else ~/.local/state/task-runner/history). With "
        "standard input not a terminal it reads one line after another, without a prompt, "
        "until the end of input. Ctrl-C while a task runs cancels that task; Ctrl-D or :quit "
        "leaves.",
        {{exit_ok, "every task completed"},
         {exit_not_completed, "some task did not complete"},
         usage_exit,
         {exit_server, "some request was refused, or the server could not be reached"}},
        0,
        0,
        interactive_command,
        nullptr};
}

Command submit_command_spec() {
    return Command{
        "submit",
        "FILE|-",
        "Submit a tasks file as one batch, for cron: safe to run twice, and never twice at once.",
        {server_option,
         key_option,
         {"--mode", "parallel|sequential",
          "how the batch runs (default: the file's, else parallel)"},
         {"--continue-on-error", "",
          "a sequential batch goes on after a task that did not complete"},
         {"--wait", "SECONDS",
          "wait until every task has ended (at most SECONDS), then exit 0 or 1", false, true},
         {"--priority", "P", "the priority of tasks that do not give their own"},
         {"--id-prefix", "PREFIX",
          "task ids are PREFIX-1, PREFIX-2 ... instead of the file's hash-1 ... (a cron job that "
          "should run the same file again each day passes the date)"},
         {"--lock", "FILE",
          "the lock file (default: $XDG_STATE_HOME/task-runner/locks/NAME-HASH.lock, one per "
          "tasks file)"},
         {"--output", "text|json", "the report: text (default) or the batch as JSON"}},
        "FILE (or - for standard input) is JSON shaped like the body of POST "
        "/api/v1/tasks/batch, {\"tasks\": [{\"task\": \"...\"}], \"mode\": \"sequential\"}, or "
        "text with one task per line; blank lines and lines starting with # are skipped. Each "
        "task without a task_id gets HASH-N: N its position, HASH the first 16 hex digits of "
        "the SHA-256 of the file and the key, so the same file submitted again with the same "
        "key (a retry, a second run) creates nothing and reports the tasks it made the first "
        "time, and another key's identical file makes tasks of its own. An exclusive flock on "
        "the lock file makes a run that overlaps another exit at once with 4.",
        {{exit_ok, "every task completed (with --wait), or the batch was accepted (without)"},
         {exit_not_completed, "some task did not complete, or was still running when --wait ended"},
         {exit_bad_input,
          "bad input: wrong usage, or a file that cannot be read or used, reported as FILE:LINE"},
         {exit_server, "the server could not be reached, or refused the key"},
         {exit_locked, "another run holds the lock"},
         {exit_interrupted, "Ctrl-C while waiting (the batch goes on)"}},
        1,
        1,
        submit_command,
        nullptr};
}

Command status_command_spec() {
    return Command{
        "status",
        "ID",
        "Show a task: its status, plan, steps and result.",
        {server_option, key_option, {"--output", "text|json", "text (default) or the task's JSON"}},
        "",
        {{exit_ok, "the task was shown, whatever its status"},
         usage_exit,
         {exit_server, "no such task, or the server could not be reached or "
                       "refused"}},
        1,
        1,
        status_command,
        nullptr};
}

Command list_command_spec() {
    return Command{"list",
                   "",
                   "List tasks, newest first.",
                   {server_option,
                    key_option,
                    {"--status", "S",
                     "only tasks in status S (queued, running, completed, failed, "
                     "cancelled, timeout)"},
                    {"--batch", "ID", "only the tasks of batch ID"},
                    {"--limit", "N", "at most N tasks, 1..100 (default 20)"},
                    {"--output", "text|json", "a table (default) or the API's JSON page"}},
                   "",
                   {{exit_ok, "the list was shown"}, usage_exit, server_exit},
                   0,
                   0,
                   list_command,
                   nullptr};
}

Command cancel_command_spec() {
    return Command{"cancel",
                   "ID",
                   "Cancel a task: a queued one at once, a running one within a second.",
                   {server_option, key_option},
                   "",
                   {{exit_ok, "the task is cancelled, or its runner is stopping it"},
                    {exit_not_completed, "the task had already ended"},
                    usage_exit,
                    {exit_server, "no such task, or the server could not be reached or "
                                  "refused"}},
                   1,
                   1,
                   cancel_command,
                   nullptr};
}

Command events_command_spec() {
    return Command{
        "events",
        "ID",
        "Follow a task's event stream (status, plan, steps) until it ends.",
        {server_option,
         key_option,
         {"--output", "text|json", "plain lines (default) or one JSON object per event"}},
        "A dropped connection is resumed where it left off (Last-Event-ID); no event is shown "
        "twice. Ctrl-C stops watching; the task goes on.",
        {{exit_ok, "the task completed"},
         {exit_not_completed, "the task failed, timed out or was cancelled"},
         usage_exit,
         server_exit,
         {exit_interrupted, "Ctrl-C (the task goes on)"}},
        1,
        1,
        events_command,
        nullptr};
}

Command config_command_spec() {
    return Command{"config",
                   "validate FILE",
                   "Check a service configuration file without starting anything.",
                   {{"--with-environment", "",
                     "apply this environment's TASK_RUNNER_* overrides too, as the service would"}},
                   "Every problem is reported, each as FILE:LINE: reason.",
                   {{exit_ok, "the file is valid"},
                    {exit_bad_input, "wrong usage, or the file has problems (each as FILE:LINE)"}},
                   2,
                   2,
                   config_command,
                   nullptr};
}

Command keys_command_spec() {
    return Command{
        "keys",
        "create|list|revoke|webhook-secret",
        "Manage API keys, on the server machine, in the service's database.",
        {config_option,
         {"--owner", "NAME", "keys create: whose key it is"},
         {"--scopes", "LIST", "keys create: read,submit,admin (comma-separated)"},
         {"--description", "TEXT", "keys create: a note"},
         {"--rotate", "", "keys webhook-secret: replace the secret first"}},
        "task-runner keys create --owner NAME --scopes read,submit [--description TEXT]: prints "
        "the new key once on stdout (it is stored only hashed). task-runner keys list: every "
        "key, without secrets. task-runner keys revoke ID: requests with it get 401 from now "
        "on. task-runner keys webhook-secret ID|default [--rotate]: the secret that signs the "
        "webhooks of that key's tasks (default: of tasks submitted without a key).",
        {{exit_ok, "done"},
         usage_exit,
         {exit_server, "the database could not be used, or no such key"}},
        0,
        0,
        nullptr,
        keys_command};
}

Command migrate_command_spec() {
    return Command{"migrate",
                   "",
                   "Create the database or bring its schema up to date.",
                   {config_option},
                   "",
                   {{exit_ok, "the schema is up to date"},
                    usage_exit,
                    {exit_server, "the configuration or the database could not be used"}},
                   0,
                   0,
                   nullptr,
                   migrate_command};
}

Command serve_command_spec() {
    return Command{"serve",
                   "",
                   "Run the whole stack (runner, handlers, nginx) in the foreground until Ctrl-C.",
                   {config_option,
                    {"--demo", "TASK",
                     "run a task (TASK, else a summary of README.md) through the API once it is up",
                     false, true}},
                   "",
                   {{exit_ok, "stopped by SIGTERM or Ctrl-C"},
                    usage_exit,
                    {exit_server, "the stack could not start, or a component died too often"}},
                   0,
                   0,
                   nullptr,
                   serve_command};
}

Command help_command_spec() {
    return Command{"help", "[COMMAND]", "Show every command, or one command's help.",
                   {},     "",          {{exit_ok, "shown"}, {exit_bad_input, "no such command"}},
                   0,      1,           help_command,
                   nullptr};
}

Command version_command_spec() {
    return Command{"version", "", "Print the version.", {},     "", {{exit_ok, "printed"}},
                   0,         0,  version_command,      nullptr};
}

std::vector<Command> make_commands() {
    return {task_command_spec(),    interactive_command_spec(), submit_command_spec(),
            status_command_spec(),  list_command_spec(),        cancel_command_spec(),
            events_command_spec(),  config_command_spec(),      keys_command_spec(),
            migrate_command_spec(), prune_command_spec(),       backup_command_spec(),
            restore_command_spec(), serve_command_spec(),       help_command_spec(),
            version_command_spec(), nginx_site_command_spec()};
}

int help_command(const Invocation &invocation) {
    if (invocation.operands().empty()) {
        std::cout << overview();
        return exit_ok;
    }
    const Command *command = find_command(invocation.operands().front());
    if (!command)
        throw UsageError("help: no command \"" + invocation.operands().front().substr(0, 40) +
                         "\"");
    std::cout << help_text(*command);
    return exit_ok;
}

} // namespace

const std::vector<Command> &commands() {
    static const std::vector<Command> table = make_commands();
    return table;
}

const Command *find_command(std::string_view name) {
    for (const Command &command : commands())
        if (command.name == name)
            return &command;
    return nullptr;
}

std::string overview() {
    std::string text = "usage: task-runner COMMAND [OPTIONS] [OPERANDS]\n\nCommands:\n";
    for (const Command &command : commands())
        text += "  " + std::string(command.name) +
                std::string(13 - std::min<std::size_t>(12, command.name.size()), ' ') +
                std::string(command.summary) + "\n";
    text +=
        "\nEach command answers --help, as does `task-runner help COMMAND`.\n"
        "The server is --server, else $TASK_RUNNER_URL, else `url` in the client file, else\n"
        "http://127.0.0.1:8080; the key --key, else $TASK_RUNNER_KEY, else `key` in the client\n"
        "file. The client file is $TASK_RUNNER_CLIENT_CONFIG, else\n"
        "$XDG_CONFIG_HOME/task-runner/client.conf, else ~/.config/task-runner/client.conf.\n"
        "\nExit status:\n"
        "  0     done: the task completed, the request was accepted\n"
        "  1     a task failed, timed out or was cancelled, or was still running when the\n"
        "        wait ended\n"
        "  2     wrong usage, or bad input (FILE:LINE)\n"
        "  3     the server could not be reached, or refused the request or the key\n"
        "  4     submit: another run holds the lock; restore: the database is in use\n"
        "  130   Ctrl-C while waiting (task: the task was cancelled)\n"
        "\nSee task-runner(1).\n";
    return text;
}

int dispatch(const std::vector<std::string> &args) {
    if (args.empty())
        throw UsageError("a command is needed");
    const std::string &name = args.front();
    if (name == "--help" || name == "-h") {
        std::cout << overview();
        return exit_ok;
    }
    if (name == "--version")
        return find_command("version")->run(Invocation());
    const Command *command = find_command(name);
    if (!command)
        throw UsageError("unknown command \"" + name.substr(0, 40) + "\"");
    const std::vector<std::string> words(args.begin() + 1, args.end());
    if (Invocation::asks_for_help(words)) {
        std::cout << help_text(*command);
        return exit_ok;
    }
    if (command->run_words)
        return command->run_words(words);
    return command->run(Invocation::parse(*command, words));
}

} // namespace tr::cli
