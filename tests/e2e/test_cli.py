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
