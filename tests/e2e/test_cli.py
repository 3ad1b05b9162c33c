"""The task-runner CLI and the handler binary's CGI mode, as users run them."""

import json
import os
import subprocess

from conftest import BIN


def cli(*args, env=None, timeout=60):
    return subprocess.run([str(BIN / "task-runner"), *args], capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, **(env or {})), stdin=subprocess.DEVNULL)


def test_task_command_prints_the_result_and_exits_zero(stack):
    (stack.work / "cli.txt").write_text("from the cli test\n")
    done = cli("task", "read the file cli.txt", "--server", stack.url)
    assert done.returncode == 0, done.stderr
    assert "completed" in done.stdout
    assert "from the cli test" in done.stdout


def test_json_output_is_only_json(stack):
    done = cli("task", "list the files in .", "--server", stack.url, "--output", "json")
    assert done.returncode == 0, done.stderr
    task = json.loads(done.stdout)
    assert task["status"] == "completed"
    assert task["steps"][1]["tool"] == "list_files"


def test_server_from_the_environment(stack):
    done = cli("task", "list the files in .", env={"TASK_RUNNER_URL": stack.url})
    assert done.returncode == 0, done.stderr


# Regression: --key and $TASK_RUNNER_KEY were parsed but never sent, so the CLI could not talk to
# a server that requires keys.
def test_the_key_is_sent_from_the_flag_or_the_environment(make_stack):
    secured = make_stack({"service.require_api_key": True})
    key = secured.create_key("cli", "read,submit")
    without = cli("task", "list the files in .", "--server", secured.url)
    assert without.returncode == 3 and "AUTHENTICATION_ERROR" in without.stderr
    flag = cli("task", "list the files in .", "--server", secured.url, "--key", key)
    assert flag.returncode == 0, flag.stderr
    variable = cli("task", "list the files in .", "--server", secured.url, env={"TASK_RUNNER_KEY": key})
    assert variable.returncode == 0, variable.stderr
    assert key not in flag.stdout + flag.stderr + variable.stdout + variable.stderr


def test_a_failed_task_exits_one(stack):
    done = cli("task", "Hello, Task Runner!", "--server", stack.url)
    assert done.returncode == 1
    assert "PLANNING_FAILED" in done.stdout


def test_a_refused_request_exits_three_with_the_server_message(stack):
    done = cli("task", "list the files in .", "--priority", "urgent", "--server", stack.url)
    assert done.returncode == 3
    assert "INVALID_REQUEST" in done.stderr and "priority must be one of" in done.stderr


def test_an_unreachable_server_exits_three():
    done = cli("task", "list the files in .", "--server", "http://127.0.0.1:1")
    assert done.returncode == 3
    assert "127.0.0.1:1" in done.stderr


def test_wrong_usage_exits_two_with_the_usage():
    for args in (["task"], ["task", "x", "--output", "yaml"], ["frobnicate"], []):
        done = cli(*args)
        assert done.returncode == 2, args
        assert "usage:" in done.stderr


def test_serve_refuses_a_broken_config_naming_file_and_line(tmp_path):
    config = tmp_path / "broken.cfg"
    config.write_text("execution = {\n  max_steps = 0;\n};\nservice = { cros = {}; };\n")
    done = cli("serve", "--config", str(config), timeout=20)
    assert done.returncode != 0
    assert f"{config}:2: execution.max_steps must be 1..1000 (got 0)" in done.stderr
    assert f"{config}:4: unknown setting service.cros" in done.stderr


def test_serve_refuses_a_config_with_a_syntax_error(tmp_path):
    config = tmp_path / "syntax.cfg"
    config.write_text("model = {\n  provider = \"builtin\";\n  max_tokens = = 5;\n};\n")
    done = cli("serve", "--config", str(config), timeout=20)
    assert done.returncode != 0
    assert f"{config}:3: syntax error" in done.stderr


def test_environment_overrides_name_the_variable(tmp_path):
    config = tmp_path / "ok.cfg"
    config.write_text("")
    done = cli("migrate", "--config", str(config), env={"TASK_RUNNER_MAX_CONCURRENT_TASKS": "lots"})
    assert done.returncode != 0
    assert "TASK_RUNNER_MAX_CONCURRENT_TASKS: service.max_concurrent_tasks must be an integer" in done.stderr


def test_migrate_creates_a_private_database_and_is_idempotent(tmp_path):
    config = tmp_path / "m.cfg"
    config.write_text(f'storage = {{ database = "{tmp_path}/db/t.db"; }};\n'
                      f'tools = {{ working_directory = "{tmp_path}"; allowed_paths = ["{tmp_path}"]; }};\n')
    first = cli("migrate", "--config", str(config))
    assert first.returncode == 0, first.stderr
    assert "applied" in first.stdout
    assert oct((tmp_path / "db" / "t.db").stat().st_mode & 0o777) == "0o600"
    second = cli("migrate", "--config", str(config))
    assert "up to date" in second.stdout


def cgi(stack, method, path, body=b"", content_type="application/json"):
    env = dict(os.environ, TASK_RUNNER_CONFIG=str(stack.config_path), REQUEST_METHOD=method,
               PATH_INFO=path, CONTENT_LENGTH=str(len(body)), QUERY_STRING="", CONTENT_TYPE=content_type)
    done = subprocess.run([str(BIN / "task-runner-fcgi")], input=body, capture_output=True, env=env, timeout=30)
    head, _, payload = done.stdout.partition(b"\r\n\r\n")
    return head.decode(), json.loads(payload)


def test_the_handler_binary_also_answers_as_a_plain_cgi_program(stack):
    head, body = cgi(stack, "POST", "/api/v1/tasks", b'{"task":"list the files in ."}')
    assert head.startswith("Status: 202 Accepted")
    task = stack.wait_for(body["task_id"])
    assert task["status"] == "completed"
    head, body = cgi(stack, "GET", f"/api/v1/tasks/{task['task_id']}")
    assert head.startswith("Status: 200 OK") and body["status"] == "completed"
    head, body = cgi(stack, "GET", "/api/v1/tasks/nope")
    assert head.startswith("Status: 404") and body["error"]["code"] == "TASK_NOT_FOUND"
    # Whatever host runs it, a body that is not JSON is refused before anything is stored.
    head, body = cgi(stack, "POST", "/api/v1/tasks", b'{"task":"list the files in ."}', content_type="text/plain")
    assert head.startswith("Status: 415 Unsupported Media Type") and body["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


# -- every command, its help and the man page ---------------------------------------------------

import fcntl
import pty
import re
import select
import signal
import time

from conftest import ROOT, remember_secret, wait_until

MAN_PAGE = ROOT / "cli" / "task-runner.1"


def commands():
    """The subcommands `task-runner help` lists."""
    done = cli("help")
    assert done.returncode == 0, done.stderr
    listing = done.stdout.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in listing.splitlines()]


def help_of(command):
    done = cli(command, "--help")
    assert done.returncode == 0, (command, done.stderr)
    return done.stdout


def options_in(help_text):
    return set(re.findall(r"^  (--[a-z-]+)", help_text.split("Options:\n", 1)[1], re.M))


def exit_codes_in(help_text):
    section = help_text.split("Exit status:\n", 1)[1]
    return {int(code) for code in re.findall(r"^  (\d+) ", section, re.M)}


def rendered_man_page():
    done = subprocess.run(["man", "--warnings", "-l", str(MAN_PAGE)], capture_output=True, text=True,
                          timeout=30, env=dict(os.environ, MANWIDTH="100", MAN_KEEP_FORMATTING="0"))
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", f"man/groff warnings: {done.stderr}"
    # man formats for a terminal: hyphenation at line ends and overstrikes would split words.
    return re.sub(r".\x08", "", done.stdout)


def man_section(page, title):
    """The text of one SH section of the rendered page."""
    match = re.search(rf"^{re.escape(title)}\n(.*?)(?=^[A-Z][A-Z ]+\n|\Z)", page, re.S | re.M)
    assert match, f"no section {title}"
    return match.group(1)


def test_the_command_list_is_what_the_issue_asks_for():
    assert set(commands()) >= {"task", "interactive", "submit", "status", "list", "cancel", "events",
                               "config", "keys", "migrate", "serve", "help", "version"}


def test_every_command_answers_help_and_help_command():
    for command in commands():
        text = help_of(command)
        assert text.startswith(f"usage: task-runner {command}"), text
        assert "Exit status:\n" in text and 0 in exit_codes_in(text), command
        assert "  -h, --help" in text
        by_help = cli("help", command)
        assert by_help.returncode == 0 and by_help.stdout == text
        assert cli(command, "-h").stdout == text
    unknown = cli("help", "frobnicate")
    assert unknown.returncode == 2 and "no command" in unknown.stderr


def test_every_option_in_help_is_parsed_and_every_parsed_option_in_help():
    # An option the help names is known to the parser: its error is about its value, never
    # "unknown option"; and an option the parser does not know is refused with exit 2.
    for command in ("task", "submit", "status", "list", "cancel", "events", "interactive"):
        for option in options_in(help_of(command)):
            done = cli(command, option + "=", "--server", "http://127.0.0.1:1")
            assert "unknown option" not in done.stderr, (command, option, done.stderr)
        refused = cli(command, "--frobnicate")
        assert refused.returncode == 2 and "unknown option --frobnicate" in refused.stderr


def test_the_man_page_renders_and_documents_every_command_option_and_exit_status():
    page = rendered_man_page()
    commands_section = man_section(page, "COMMANDS")
    codes = set()
    for command in commands():
        text = help_of(command)
        heading = re.search(rf"^   {re.escape(command)}\b.*$", commands_section, re.M)
        assert heading, f"the man page has no subsection for {command}"
        start = heading.end()
        following = re.search(r"^   \S.*$", commands_section[start:], re.M)
        body = commands_section[start:start + following.start()] if following else commands_section[start:]
        common = man_section(page, "COMMON OPTIONS")
        for option in options_in(text):
            assert option in body or option in common, f"{command} {option} is not in the man page"
        codes |= exit_codes_in(text)
    exit_section = man_section(page, "EXIT STATUS")
    documented = {int(code) for code in re.findall(r"^       (\d+)\s", exit_section, re.M)}
    assert documented == codes == exit_codes_in(cli("help").stdout), (documented, codes)
    assert codes == {0, 1, 2, 3, 4, 130}
    # Where the client settings come from, in both.
    for text in (page, cli("help").stdout):
        for name in ("TASK_RUNNER_URL", "TASK_RUNNER_KEY", "client.conf"):
            assert name in text


def test_cmake_install_puts_the_program_and_the_man_page_in_the_prefix(tmp_path):
    build = BIN.parent
    done = subprocess.run(["cmake", "--install", str(build), "--prefix", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    installed = tmp_path / "bin" / "task-runner"
    assert os.access(installed, os.X_OK)
    assert (tmp_path / "share" / "man" / "man1" / "task-runner.1").read_bytes() == MAN_PAGE.read_bytes()
    version = subprocess.run([str(installed), "version"], capture_output=True, text=True, timeout=30)
    assert version.returncode == 0 and version.stdout.startswith("task-runner ")


def test_the_man_page_examples_run(stack, tmp_path):
    source = MAN_PAGE.read_text()
    examples = source.split(".SH EXAMPLES", 1)[1].split(".SH", 1)[0]
    blocks = re.findall(r"^\.EX\n(.*?)^\.EE", examples, re.S | re.M)
    unescape = lambda text: text.replace("\\-", "-").replace("\\e", "\\")
    commands_block, crontab_block = (unescape(block) for block in blocks)
    (tmp_path / "nightly.tasks").write_text((ROOT / "examples" / "cron" / "nightly.tasks").read_text())
    for line in commands_block.splitlines():
        done = subprocess.run(line, shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=120,
                              env=dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}", TASK_RUNNER_URL=stack.url,
                                       XDG_STATE_HOME=str(tmp_path / "state")))
        assert done.returncode == 0, (line, done.stdout, done.stderr)
    # The crontab entry is the shipped crontab's job line, as cron reads it.
    shown = crontab_block.replace(" \\\n  ", " ").strip()
    job = [l for l in (ROOT / "examples" / "cron" / "crontab").read_text().splitlines()
           if l and not l.startswith("#") and "=" not in l.split()[0]]
    assert [shown] == job


# -- task ----------------------------------------------------------------------------------------

def test_piped_progress_is_plain_lines_of_the_plan_and_each_step(stack):
    done = cli("task", "list the files in .", "--server", stack.url)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(l.startswith("plan: ") for l in lines), done.stdout
    assert "start step 1 planning" in done.stdout and "done step 1 planning" in done.stdout
    assert "start step 2 tool_use list_files" in done.stdout and "done step 2 tool_use list_files" in done.stdout
    assert "\r" not in done.stdout and "\x1b" not in done.stdout
    # The planning step, the plan it made, then the other steps in order, then the result.
    order = [done.stdout.index(s) for s in ("start step 1", "plan: ", "start step 2", "done step 2", "Task ")]
    assert order == sorted(order)


def run_in_pty(args, env=None, input_lines=(), until=None, timeout=60):
    """Runs the CLI with a terminal for stdin, stdout and stderr; (exit status, everything it
    wrote). `until(output)`: a line of `input_lines` is sent each time it holds."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen([str(BIN / "task-runner"), *args], stdin=terminal, stdout=terminal,
                               stderr=terminal, env=dict(os.environ, TERM="xterm", **(env or {})),
                               start_new_session=True)
    os.close(terminal)
    output, pending = b"", list(input_lines)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if pending and until(output.decode(errors="replace"), len(input_lines) - len(pending)):
                os.write(controller, pending.pop(0).encode() + b"\r")
            ready, _, _ = select.select([controller], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(controller, 65536)
                except OSError:  # EIO: every writer has closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
            elif process.poll() is not None and not pending:
                break
        return process.wait(timeout=max(1, deadline - time.monotonic())), output.decode(errors="replace")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        os.close(controller)


def test_on_a_terminal_the_running_step_has_a_spinner(stack):
    status, output = run_in_pty(["task", "run the command: sleep 1", "--server", stack.url])
    assert status == 0, output
    assert re.search(r"\r\x1b\[K[|/\\-] step 2 tool_use run_command", output), output
    assert "done step 2 tool_use run_command" in output
    assert re.search(r"Task \S+: completed", output)


def test_no_wait_prints_the_id_and_the_options_reach_the_task(stack):
    (stack.work / "sub").mkdir(exist_ok=True)
    done = cli("task", "list the files in .", "--server", stack.url, "--no-wait", "--priority", "high",
               "--workdir", str(stack.work / "sub"), "--tool", "list_files", "--tool", "read_file",
               "--max-steps", "7", "--timeout", "90", "--metadata", "team=ops", "--metadata", "run=1",
               "--id", "cli-options-1")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "cli-options-1\n"
    task = stack.wait_for("cli-options-1")
    assert task["priority"] == "high" and task["metadata"] == {"team": "ops", "run": "1"}
    context = json.loads(stack.query("SELECT context FROM tasks WHERE id = 'cli-options-1'")[0][0])
    assert context == {"working_directory": str(stack.work / "sub"), "tools": ["list_files", "read_file"],
                       "constraints": {"max_steps": 7, "max_execution_time": 90}}
    as_json = cli("task", "list the files in .", "--server", stack.url, "--no-wait", "--output", "json")
    assert as_json.returncode == 0 and json.loads(as_json.stdout)["status"] == "queued"
    for bad in (["--max-steps", "0"], ["--timeout", "soon"], ["--metadata", "novalue"], ["--wait", "-1"]):
        refused = cli("task", "x", "--server", stack.url, *bad)
        assert refused.returncode == 2, (bad, refused.stderr)


def test_wait_gives_up_with_one_and_the_task_goes_on(stack):
    done = cli("task", "run the command: sleep 3", "--server", stack.url, "--wait", "1", "--id", "cli-wait-1")
    assert done.returncode == 1, done.stderr
    assert "is still running after 1 s" in done.stderr
    assert stack.wait_for("cli-wait-1")["status"] == "completed"


def test_ctrl_c_while_waiting_cancels_the_task_and_exits_130(stack):
    process = subprocess.Popen([str(BIN / "task-runner"), "task", "run the command: sleep 30", "--server",
                                stack.url, "--id", "cli-sigint-1"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        def sleeping():
            task = stack.get("/api/v1/tasks/cli-sigint-1")
            return task.status_code == 200 and any(s["tool"] == "run_command" and s["status"] == "running"
                                                   for s in task.json()["steps"])
        wait_until(sleeping, timeout=20, message="the sleep to run")
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, err
    assert "cancelling task cli-sigint-1" in err
    task = stack.wait_for("cli-sigint-1", timeout=10)
    assert task["status"] == "cancelled"


# -- status, list, cancel, events ----------------------------------------------------------------

def test_status_list_cancel_and_their_exit_codes(stack):
    done = cli("task", "list the files in .", "--server", stack.url, "--id", "cli-status-1")
    assert done.returncode == 0
    status = cli("status", "cli-status-1", "--server", stack.url)
    assert status.returncode == 0 and "Task cli-status-1: completed" in status.stdout and "Steps:" in status.stdout
    as_json = cli("status", "cli-status-1", "--server", stack.url, "--output", "json")
    assert json.loads(as_json.stdout)["task_id"] == "cli-status-1"
    missing = cli("status", "no-such-task", "--server", stack.url)
    assert missing.returncode == 3 and "TASK_NOT_FOUND" in missing.stderr

    listing = cli("list", "--server", stack.url, "--status", "completed", "--limit", "2")
    assert listing.returncode == 0, listing.stderr
    rows = listing.stdout.splitlines()
    assert rows[0].split() == ["ID", "STATUS", "PRIORITY", "CREATED", "TASK"]
    assert len(rows) >= 2 and all(" completed " in r for r in rows[1:3])
    page = json.loads(cli("list", "--server", stack.url, "--limit", "1", "--output", "json").stdout)
    assert len(page["tasks"]) == 1
    bad = cli("list", "--server", stack.url, "--status", "sleeping")
    assert bad.returncode == 3 and "INVALID_REQUEST" in bad.stderr
    batch = stack.post("/api/v1/tasks/batch", {"tasks": [{"task": "list the files in ."}]}).json()
    by_batch = cli("list", "--server", stack.url, "--batch", batch["batch_id"], "--output", "json")
    assert [t["task_id"] for t in json.loads(by_batch.stdout)["tasks"]] == [batch["tasks"][0]["task_id"]]

    task_id = stack.submit("run the command: sleep 30")
    wait_until(lambda: stack.get(f"/api/v1/tasks/{task_id}").json()["status"] == "running", timeout=20)
    cancel = cli("cancel", task_id, "--server", stack.url)
    assert cancel.returncode == 0 and task_id in cancel.stdout, cancel.stderr
    assert stack.wait_for(task_id)["status"] == "cancelled"
    again = cli("cancel", task_id, "--server", stack.url)
    assert again.returncode == 1 and "CONFLICT" in again.stderr
    assert cli("cancel", "no-such-task", "--server", stack.url).returncode == 3


def test_events_replays_a_finished_task_and_exits_by_its_status(stack):
    ok = stack.run("list the files in .")
    done = cli("events", ok["task_id"], "--server", stack.url, "--output", "json")
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert events[0] == {"id": 0, "event": "status", "data": {"status": "queued"}}
    assert events[-1]["event"] == "status" and events[-1]["data"]["status"] == "completed"
    assert any(e["event"] == "plan" for e in events)
    text = cli("events", ok["task_id"], "--server", stack.url)
    assert "plan: " in text.stdout and f"task {ok['task_id']}: completed" in text.stdout
    failed = stack.run("Hello, Task Runner!")
    assert cli("events", failed["task_id"], "--server", stack.url).returncode == 1


def test_events_resumes_after_the_stream_drops_and_shows_each_event_once(make_stack):
    # Every stream ends after a second here, so following a 3-second task takes several.
    stack = make_stack({"service.max_stream_seconds": 1})
    task_id = stack.submit("run the command: sleep 3")
    done = cli("events", task_id, "--server", stack.url, "--output", "json")
    assert done.returncode == 0, done.stderr
    ids = [json.loads(line)["id"] for line in done.stdout.splitlines()]
    stored = [row[0] for row in stack.query("SELECT id FROM task_events WHERE task_id = ? ORDER BY id", (task_id,))]
    assert ids == [0, *stored], (ids, stored)
    # It took several streams (the handlers count each request; they flush their counts soon).
    streams = lambda: stack.query("SELECT coalesce(sum(value), 0) FROM metric_counters WHERE name = "
                                  "'ai_agent_requests_total' AND labels LIKE '%/events%'")[0][0]
    wait_until(lambda: streams() >= 3, timeout=15, message="the stream requests to be counted")


# -- interactive ---------------------------------------------------------------------------------

def test_interactive_reads_lines_without_a_prompt_when_stdin_is_not_a_terminal(stack):
    script = "\n".join(["list the files in .", ":status", ":list", ":help", ":bogus", "", "# a comment",
                        ":cancel", ":quit", "Hello, Task Runner!"]) + "\n"
    done = subprocess.run([str(BIN / "task-runner"), "interactive", "--server", stack.url], input=script,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr  # :cancel of a finished task was refused (409) ...
    out = done.stdout
    assert "task>" not in out and "One task per line" not in out
    assert re.search(r"Task (\S+): completed", out)
    task_id = re.search(r"Task (\S+): completed", out).group(1)
    assert out.count(f"Task {task_id}: completed") == 2  # the run, then :status
    assert ":status [ID]" in out and "unknown command :bogus" in out
    assert "CONFLICT" in out  # ... which is why the session's status is not 0
    assert "PLANNING_FAILED" not in out, "a line after :quit ran"


def test_interactive_exit_status_is_the_worst_line(stack):
    run = lambda script: subprocess.run([str(BIN / "task-runner"), "interactive", "--server", stack.url],
                                        input=script, capture_output=True, text=True, timeout=60)
    assert run("list the files in .\n").returncode == 0
    assert run("list the files in .\nHello, Task Runner!\n").returncode == 1
    assert run(":status no-such-task\n").returncode == 3


def test_interactive_on_a_terminal_edits_lines_and_keeps_history(stack, tmp_path):
    env = {"XDG_STATE_HOME": str(tmp_path / "state"), "HOME": str(tmp_path)}
    steps = lambda output, sent: ("task> " in output) if sent == 0 else (output.count("task> ") > sent)
    status, output = run_in_pty(["interactive", "--server", stack.url], env=env,
                                input_lines=["list the files in .", ":quit"], until=steps)
    assert status == 0, output
    assert "One task per line" in output and "task> " in output
    assert re.search(r"Task \S+: completed", output), output
    history = tmp_path / "state" / "task-runner" / "history"
    # libedit's file format: vis(3)-encoded lines after a header.
    lines = [re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), line)
             for line in history.read_text().splitlines()]
    assert lines[0] == "_HiStOrY_V2_" and "list the files in ." in lines
    assert history.stat().st_mode & 0o777 == 0o600


def test_the_history_file_is_not_followed_through_a_link_nor_kept_in_another_users_directory(stack, tmp_path):
    # Root with another user's HOME (sudo -E): a link planted as the history must not make the
    # session chmod and overwrite the file it points to.
    state = tmp_path / "state" / "task-runner"
    state.mkdir(parents=True, mode=0o700)
    precious = tmp_path / "precious"
    precious.write_text("root's own file\n")
    precious.chmod(0o644)
    (state / "history").symlink_to(precious)
    env = {"XDG_STATE_HOME": str(tmp_path / "state"), "HOME": str(tmp_path)}
    steps = lambda output, sent: output.count("task> ") > sent
    status, output = run_in_pty(["interactive", "--server", stack.url], env=env,
                                input_lines=[":quit"], until=steps)
    assert status == 0, output
    assert "no history" in output, output
    assert precious.read_text() == "root's own file\n" and precious.stat().st_mode & 0o777 == 0o644
    assert (state / "history").is_symlink()
    # A state directory others may write: no history either, and the session still works.
    (state / "history").unlink()
    state.chmod(0o777)
    status, output = run_in_pty(["interactive", "--server", stack.url], env=env,
                                input_lines=["list the files in .", ":quit"], until=steps)
    assert status == 0 and re.search(r"Task \S+: completed", output), output
    assert "no history" in output and f"{state} is writable by others" in output, output
    assert not (state / "history").exists()


# -- where the server and the key come from --------------------------------------------------------

def test_the_server_comes_from_the_flag_then_the_environment_then_the_client_file(stack, tmp_path):
    conf = tmp_path / "client.conf"
    conf.write_text(f'url = "{stack.url}";\n')
    env = {"TASK_RUNNER_CLIENT_CONFIG": str(conf), "TASK_RUNNER_URL": ""}
    assert cli("list", "--limit", "1", env=env).returncode == 0
    assert cli("list", "--limit", "1", env={**env, "TASK_RUNNER_URL": "http://127.0.0.1:1"}).returncode == 3
    assert cli("list", "--limit", "1", "--server", stack.url,
               env={**env, "TASK_RUNNER_URL": "http://127.0.0.1:1"}).returncode == 0
    # The XDG location when no file is named.
    xdg = tmp_path / "xdg" / "task-runner"
    xdg.mkdir(parents=True)
    (xdg / "client.conf").write_text(f'url = "{stack.url}";\n')
    assert cli("list", "--limit", "1", env={"XDG_CONFIG_HOME": str(tmp_path / "xdg"),
                                           "TASK_RUNNER_CLIENT_CONFIG": "", "TASK_RUNNER_URL": ""}).returncode == 0
    conf.write_text('url = "http://x";\nurl_typo = "y";\n')
    broken = cli("list", env=env)
    assert broken.returncode == 2 and f"{conf}:2: unknown setting url_typo" in broken.stderr
    conf.write_text('url = "ftp://example.org";\n')
    assert cli("list", env=env).returncode == 2


def test_a_client_file_others_could_change_is_refused_whole(make_stack, tmp_path):
    # Another user's url would receive the key from TASK_RUNNER_KEY: the file is not used at all.
    secured = make_stack({"service.require_api_key": True})
    key = secured.create_key("redirected", "read")
    remember_secret(key)
    conf = tmp_path / "client.conf"
    conf.write_text(f'url = "{secured.url}";\n')
    env = {"TASK_RUNNER_CLIENT_CONFIG": str(conf), "TASK_RUNNER_URL": "", "TASK_RUNNER_KEY": key}
    assert cli("list", "--limit", "1", env=env).returncode == 0
    conf.chmod(0o666)
    writable = cli("list", "--limit", "1", env=env)
    assert writable.returncode == 2 and f"{conf} is writable by others" in writable.stderr, writable.stderr
    conf.chmod(0o644)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    (shared / "client.conf").write_text(f'url = "{secured.url}";\n')
    in_shared = cli("list", env={**env, "TASK_RUNNER_CLIENT_CONFIG": str(shared / "client.conf")})
    assert in_shared.returncode == 2 and f"which is writable by others" in in_shared.stderr
    link = tmp_path / "link.conf"
    link.symlink_to(conf)
    linked = cli("list", env={**env, "TASK_RUNNER_CLIENT_CONFIG": str(link)})
    assert linked.returncode == 2 and "is a symbolic link" in linked.stderr
    if os.geteuid() == 0:  # another user's file: only root can make one
        os.chown(conf, 65534, 65534)
        theirs = cli("list", env=env)
        assert theirs.returncode == 2 and "is owned by uid 65534" in theirs.stderr, theirs.stderr
    for done in (writable, in_shared, linked):
        assert key not in done.stdout + done.stderr


def test_the_key_is_never_printed(make_stack, tmp_path):
    secured = make_stack({"service.require_api_key": True})
    key = secured.create_key("keeper", "read,submit")
    remember_secret(key)
    conf = tmp_path / "client.conf"
    conf.write_text(f'url = "{secured.url}";\nkey = "{key}";\n')
    conf.chmod(0o600)
    from_file = {"TASK_RUNNER_CLIENT_CONFIG": str(conf), "TASK_RUNNER_URL": "", "TASK_RUNNER_KEY": ""}
    runs = [
        cli("task", "list the files in .", "--output", "verbose", env=from_file),
        cli("task", "list the files in .", "--output", "json", env=from_file),
        cli("task", "list the files in .", "--server", secured.url, "--key", key, "--output", "verbose"),
        cli("task", "list the files in .", "--server", "http://127.0.0.1:1", "--key", key),
        cli("task", "--key", key, "--output", "yaml", "x"),
        cli("task", "--key", key),
        cli("status", "no-such-task", env=from_file),
        cli("status", "--key", key, "--frobnicate"),
        cli("list", "--key", key, "--server", secured.url, "--status", "bogus"),
        cli("events", "no-such-task", env=from_file),
        cli("task", "--help", env={"TASK_RUNNER_KEY": key}),
        cli("help", env={"TASK_RUNNER_KEY": key}),
        cli("submit", "-", "--key", key, "--server", secured.url),
    ]
    conf.chmod(0o644)
    exposed = cli("list", env=from_file)
    assert exposed.returncode == 2 and "chmod 600" in exposed.stderr
    runs.append(exposed)
    assert runs[0].returncode == 0 and runs[2].returncode == 0, runs[0].stderr
    for done in runs:
        assert key not in done.stdout + done.stderr, done.args
        assert key.split("_")[-1] not in done.stdout + done.stderr, done.args


# -- config validate -----------------------------------------------------------------------------

def test_config_validate_names_every_problem_with_file_and_line(tmp_path):
    good = tmp_path / "good.cfg"
    good.write_text('execution = { max_steps = 20; };\n')
    done = cli("config", "validate", str(good))
    assert done.returncode == 0 and f"{good}: valid" in done.stdout
    broken = tmp_path / "broken.cfg"
    broken.write_text("execution = {\n  max_steps = 0;\n};\nservice = { cros = {}; };\n")
    done = cli("config", "validate", str(broken))
    assert done.returncode == 2
    assert f"{broken}:2: execution.max_steps must be 1..1000 (got 0)" in done.stderr
    assert f"{broken}:4: unknown setting service.cros" in done.stderr
    assert cli("config", "validate").returncode == 2
    assert cli("config", "check", str(good)).returncode == 2


# -- submit --------------------------------------------------------------------------------------

def submit(stack, *args, input=None, cwd=None, env=None, timeout=120):
    return subprocess.run([str(BIN / "task-runner"), "submit", *args, "--server", stack.url], input=input,
                          capture_output=True, text=True, timeout=timeout, cwd=cwd,
                          env=dict(os.environ, **(env or {})),
                          stdin=None if input is not None else subprocess.DEVNULL)


def test_submit_is_idempotent_by_default_and_names_lines(stack, tmp_path):
    env = {"XDG_STATE_HOME": str(tmp_path / "state")}
    tasks = tmp_path / "daily.tasks"
    tasks.write_text("# comment\n\nlist the files in .\n  run the command: echo hi  \n")
    first = submit(stack, str(tasks), "--wait", env=env)
    assert first.returncode == 0, first.stderr
    ids = re.findall(r"daily\.tasks:(\d+)\s+(\S+)\s+completed", first.stdout)
    assert [line for line, _ in ids] == ["3", "4"]
    digest = __import__("hashlib").sha256(tasks.read_bytes()).hexdigest()[:16]
    assert [task_id for _, task_id in ids] == [f"{digest}-1", f"{digest}-2"]
    assert stack.get(f"/api/v1/tasks/{digest}-2").json()["task"] == "run the command: echo hi"
    again = submit(stack, str(tasks), env=env)
    assert again.returncode == 0 and "submitted before, nothing new created" in again.stdout
    # The same text from standard input is the same batch; another prefix is another one.
    piped = submit(stack, "-", "--output", "json", input=tasks.read_text(), env=env)
    assert piped.returncode == 0 and json.loads(piped.stdout)["created"] is False
    other = submit(stack, str(tasks), "--id-prefix", "cli-prefix", "--output", "json", env=env)
    report = json.loads(other.stdout)
    assert report["created"] is True and [t["task_id"] for t in report["tasks"]] == ["cli-prefix-1", "cli-prefix-2"]
    # A changed file under a prefix already used names tasks that exist: exit 2 at its line.
    tasks.write_text("list the files in .\nrun the command: echo changed\n")
    changed = submit(stack, str(tasks), "--id-prefix", "cli-prefix", env=env)
    assert changed.returncode == 2 and f"{tasks}:1: CONFLICT" in changed.stderr, changed.stderr
    assert "the ids derived from this file are taken by a different request" in changed.stderr


def test_submit_refuses_bad_files_with_file_and_line(stack, tmp_path):
    env = {"XDG_STATE_HOME": str(tmp_path / "state")}
    cases = {
        '{"tasks": [\n {"task": "a"},\n {"task": 5}\n]}': ":3: tasks[1] must be an object",
        '{"tasks": [\n {"task": "a"}\n,\n': ":4: ",
        '{"tasks": [{"task": "a"}], "tasks_typo": 1}': ":1: unknown field",
        "# nothing but a comment\n\n": ":1: no tasks",
        "\n".join(["list the files in ."] * 101): ":101: a batch holds at most 100 tasks",
        '{"tasks": [\n  {"task": "a", "task_id": "x"},\n  {"task": "b", "task_id": "x"}\n]}': ":3: task_id \"x\" is given twice",
        '{"tasks": [\n  {"task": "a"},\n  {"task": "b", "priority": "urgent"}\n]}': ":3: INVALID_REQUEST: tasks[1]",
        '{"tasks": [\n  {"task": "a"},\n  {"task": "b", "tools": []}\n]}': ":3: tasks[1]: unknown field \"tools\"",
        '{"tasks": [\n  {"task": "a", "context": {"tools": []}}\n]}': ":2: tasks[0]: context.tools must be a non-empty list",
    }
    for number, (content, expected) in enumerate(cases.items()):
        path = tmp_path / f"bad{number}.tasks"
        path.write_text(content)
        done = submit(stack, str(path), env=env)
        assert done.returncode == 2, (content, done.stderr)
        assert f"{path}{expected}" in done.stderr, (content, done.stderr)
    assert submit(stack, str(tmp_path / "missing.tasks"), env=env).returncode == 2
    assert submit(stack, str(tmp_path / "bad0.tasks"), "--id-prefix", "bad prefix", env=env).returncode == 2
    assert submit(stack, str(tmp_path / "bad0.tasks"), "--mode", "random", env=env).returncode == 2


def test_an_overlapping_submit_exits_four_at_once(stack, tmp_path):
    lock = tmp_path / "run.lock"
    tasks = tmp_path / "slow.tasks"
    tasks.write_text("run the command: sleep 30\n")
    first = subprocess.Popen([str(BIN / "task-runner"), "submit", str(tasks), "--wait", "--lock", str(lock),
                              "--id-prefix", "cli-overlap", "--server", stack.url], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        wait_until(lambda: stack.get("/api/v1/tasks/cli-overlap-1").status_code == 200, timeout=20,
                   message="the first run's batch")
        second = submit(stack, str(tasks), "--lock", str(lock), "--id-prefix", "cli-overlap", timeout=10)
        assert second.returncode == 4, second.stderr
        assert f"another run holds the lock {lock} (pid {first.pid})" in second.stderr
        stack.session.delete(stack.url + "/api/v1/tasks/cli-overlap-1")
        out, err = first.communicate(timeout=30)
        assert first.returncode == 1, err  # its task was cancelled
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    # The lock went with the process that held it.
    third = submit(stack, str(tasks), "--lock", str(lock), "--id-prefix", "cli-overlap")
    assert third.returncode == 0 and "submitted before" in third.stdout, third.stderr


def test_the_lock_file_keeps_what_an_existing_file_holds(stack, tmp_path):
    # `--lock tasks.txt` (the `flock -n "$0"` habit): the tasks file is locked, not overwritten.
    tasks = tmp_path / "tasks.txt"
    tasks.write_text("list the files in .\n")
    keep = tmp_path / "keep.txt"
    keep.write_text("my notes\n")
    for lock in (tasks, keep):
        done = submit(stack, str(tasks), "--lock", str(lock), "--id-prefix", "cli-keep")
        assert done.returncode == 0, done.stderr
    assert tasks.read_text() == "list the files in .\n" and keep.read_text() == "my notes\n"
    fresh = tmp_path / "fresh.lock"
    assert submit(stack, str(tasks), "--lock", str(fresh), "--id-prefix", "cli-keep").returncode == 0
    assert re.fullmatch(r"pid \d+\n", fresh.read_text())


def test_a_long_tasks_file_name_still_gets_its_lock_and_local_errors_exit_two(stack, tmp_path):
    env = {"XDG_STATE_HOME": str(tmp_path / "state")}
    tasks = tmp_path / ("n" * 250)
    tasks.write_text("list the files in .\n")
    done = submit(stack, str(tasks), "--id-prefix", "cli-long", env=env)
    assert done.returncode == 0, done.stderr
    locks = list((tmp_path / "state" / "task-runner" / "locks").iterdir())
    assert len(locks) == 1 and len(locks[0].name) <= 255
    # A lock file that cannot be opened, a state directory others may write: the user's files.
    unopenable = submit(stack, str(tasks), "--lock", str(tmp_path / "no-such-dir" / "x.lock"))
    assert unopenable.returncode == 2 and "open lock file" in unopenable.stderr, unopenable.stderr
    (tmp_path / "state" / "task-runner" / "locks").chmod(0o777)
    shared = submit(stack, str(tasks), "--id-prefix", "cli-long", env=env)
    assert shared.returncode == 2 and "is writable by others" in shared.stderr, shared.stderr


# -- the README's examples -----------------------------------------------------------------------

def test_the_readme_command_line_examples_run(stack, tmp_path):
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Command line\n", 1)[1].split("\n### ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    assert len(blocks) == 2
    (stack.work / "README.md").write_text("# A project\n\nIt does things.\n")
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}", TASK_RUNNER_URL=stack.url,
               XDG_STATE_HOME=str(tmp_path / "state"), HOME=str(tmp_path))
    # The first from the repository (it names config/task-runner.cfg), the second where it may
    # write its tasks file.
    for block, cwd in zip(blocks, (ROOT, tmp_path)):
        done = subprocess.run(["/bin/sh", "-ec", block], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, (block, done.stdout, done.stderr)
    # The second submit of the same file created nothing and named the same tasks.
    runs = done.stdout.split("Batch ")[1:]
    assert len(runs) == 2 and "submitted before, nothing new created" in runs[1]
    ids = lambda run: re.findall(r"nightly\.tasks:\d+\s+(\S+)\s+completed", run)
    assert len(ids(runs[0])) == 2 and ids(runs[0]) == ids(runs[1])


def test_a_submit_only_key_can_submit_a_file_twice(make_stack, tmp_path):
    # Such a key may not read tasks (GET is 403); the batch's own answer (202 or 200) says
    # whether it was new, and the server creates nothing the second time.
    secured = make_stack({"service.require_api_key": True})
    key = secured.create_key("cron-submit", "submit")
    tasks = tmp_path / "only.tasks"
    tasks.write_text("list the files in .\n")
    env = {"TASK_RUNNER_KEY": key, "XDG_STATE_HOME": str(tmp_path / "state")}
    first = submit(secured, str(tasks), env=env)
    assert first.returncode == 0 and "1 task submitted" in first.stdout, first.stdout + first.stderr
    done = submit(secured, str(tasks), env=env)
    assert done.returncode == 0 and "submitted before, nothing new created" in done.stdout, done.stderr
    assert secured.query("SELECT count(*) FROM tasks")[0][0] == 1
    waited = submit(secured, str(tasks), "--wait", env=env)
    assert waited.returncode == 3 and "AUTHORIZATION_ERROR" in waited.stderr  # --wait reads
    assert key not in first.stdout + done.stdout + done.stderr + waited.stdout + waited.stderr


def test_the_man_page_is_of_this_version():
    version = cli("version").stdout.split()[1]
    assert f'"Task Runner {version}"' in MAN_PAGE.read_text()


# -- hostile text: control sequences and NUL bytes ------------------------------------------------

# ESC starts every CSI/OSC sequence (OSC 0 sets the window title, OSC 52 writes the clipboard,
# CSI 2J clears the screen), BEL ends an OSC, U+009B is a CSI by itself in UTF-8.
CONTROL_BYTES = (b"\x1b", b"\x07", b"\xc2\x9b")


def cli_bytes(*args, input=None, timeout=60):
    return subprocess.run([str(BIN / "task-runner"), *args], capture_output=True, input=input,
                          timeout=timeout, stdin=None if input is not None else subprocess.DEVNULL)


def assert_no_control_bytes(done, what):
    for stream in (done.stdout, done.stderr):
        for byte in CONTROL_BYTES:
            assert byte not in stream, (what, byte, stream)


def test_control_sequences_from_a_task_or_the_server_never_reach_the_terminal(stack):
    # The command prints them, and the task's own text (another user's, in a listing) holds them
    # raw, early enough to be in the listing's column: the shell's ':' takes them as its argument.
    command = "printf 'T\\033]0;PWNED\\007\\033]52;c;cHduZWQ=\\007\\033[2J\\302\\233x'"
    text = f"run the command: : '\x1b]0;TITLE\x07\u009b[2J'; {command}"
    done = cli_bytes("task", text, "--server", stack.url, "--id", "cli-escapes-1")
    assert done.returncode == 0, done.stderr
    assert_no_control_bytes(done, "task")
    assert b"T\\x1b]0;PWNED\\x07\\x1b]52;c;cHduZWQ=\\x07\\x1b[2J\\u009bx" in done.stdout, done.stdout
    runs = {
        "task --output verbose": ["task", text, "--server", stack.url, "--output", "verbose"],
        "status": ["status", "cli-escapes-1", "--server", stack.url],
        "list": ["list", "--server", stack.url],
        "events": ["events", "cli-escapes-1", "--server", stack.url],
    }
    for what, args in runs.items():
        shown = cli_bytes(*args)
        assert shown.returncode == 0, (what, shown.stderr)
        assert_no_control_bytes(shown, what)
        assert b"\\x1b]0;" in shown.stdout, (what, shown.stdout)  # shown, made visible
    session = cli_bytes("interactive", "--server", stack.url,
                        input=(text + "\n:status\n:list\n:status cli-escapes-1\n").encode())
    assert session.returncode == 0, session.stderr
    assert_no_control_bytes(session, "interactive")
    assert session.stdout.count(b"\\x1b]0;TITLE\\x07") >= 3, session.stdout  # the run, :status, :list
    # JSON output stays JSON: the same text, escaped by the encoder, not by the CLI.
    # (JSON escapes C0 controls; U+0080..U+009F are plain characters to it and stay UTF-8.)
    as_json = cli_bytes("status", "cli-escapes-1", "--server", stack.url, "--output", "json")
    assert b"\x1b" not in as_json.stdout and b"\x07" not in as_json.stdout
    assert "\x1b]0;TITLE\x07" in json.loads(as_json.stdout)["task"]
    # The server's own error message (it names the task id asked for) goes to stderr made visible.
    missing = cli_bytes("status", "no-such\x1b]0;X\x07", "--server", stack.url)
    assert missing.returncode == 3
    assert_no_control_bytes(missing, "an error message")


def test_a_nul_byte_in_a_commands_output_is_stored_as_the_replacement_character(stack):
    done = cli_bytes("task", "run the command: printf 'a\\000b'", "--server", stack.url,
                     "--id", "cli-nul-1")
    assert done.returncode == 0, done.stderr
    assert "a\ufffdb".encode() in done.stdout, done.stdout
    for args in (["status", "cli-nul-1"], ["events", "cli-nul-1"],
                 ["status", "cli-nul-1", "--output", "json"], ["events", "cli-nul-1", "--output", "json"]):
        shown = cli_bytes(*args, "--server", stack.url)
        assert shown.returncode == 0, (args, shown.stderr)
    # Stored without NUL, so a strict reader (Jansson's default, the C++ client's) takes it.
    body = stack.get("/api/v1/tasks/cli-nul-1").content
    assert b"\\u0000" not in body
    outputs = [step.get("output") or "" for step in json.loads(body)["steps"]]
    assert any("a\ufffdb" in output for output in outputs), outputs
