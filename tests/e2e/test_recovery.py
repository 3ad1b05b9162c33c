"""A runner that dies loses nothing: its lease lapses and another runner takes the task over."""

import json
import os
import signal
import subprocess
import time

from conftest import BIN, wait_until


def submit_by_cgi(stack, task):
    body = json.dumps({"task": task}).encode()
    env = dict(os.environ, TASK_RUNNER_CONFIG=str(stack.config_path), REQUEST_METHOD="POST",
               PATH_INFO="/api/v1/tasks", CONTENT_LENGTH=str(len(body)), CONTENT_TYPE="application/json")
    done = subprocess.run([str(BIN / "task-runner-fcgi")], input=body, capture_output=True, env=env, timeout=30)
    return json.loads(done.stdout.partition(b"\r\n\r\n")[2])["task_id"]


def start_runner(stack):
    return subprocess.Popen([str(BIN / "task-runner-runner"), "--config", str(stack.config_path)],
                            stdout=subprocess.DEVNULL, stderr=open(stack.log_path, "ab"), start_new_session=True)


def status_of(stack, task_id):
    rows = stack.query("SELECT status, attempts FROM tasks WHERE id = ?", (task_id,))
    return rows[0] if rows else None


def test_a_killed_runners_task_is_recovered_after_its_lease_and_run_again(make_stack):
    stack = make_stack({"execution.lease_seconds": 5}, start=False)
    first = start_runner(stack)
    second = None
    try:
        def registered():
            try:  # the file exists a moment before its tables do
                return stack.query("SELECT count(*) FROM runners")[0][0] == 1
            except Exception:
                return False
        wait_until(registered, message="the first runner to register")
        task_id = submit_by_cgi(stack, "run the command: sleep 1.5; echo survived")
        wait_until(lambda: stack.query("SELECT status FROM steps WHERE task_id = ? AND tool = 'run_command'",
                                       (task_id,)) == [("running",)], message="the command to start")
        first.send_signal(signal.SIGKILL)  # no chance to release anything
        first.wait(timeout=10)
        killed_at = time.monotonic()

        second = start_runner(stack)
        wait_until(lambda: status_of(stack, task_id) == ("completed", 2), timeout=30,
                   message="the second runner to recover and finish the task")
        assert time.monotonic() - killed_at >= 4  # not before the lease lapsed
        steps = stack.query("SELECT attempt, status, error FROM steps WHERE task_id = ? AND tool = 'run_command' "
                            "ORDER BY step_number", (task_id,))
        assert steps[0][0] == 1 and steps[0][1] == "interrupted" and "stopped responding" in steps[0][2]
        assert steps[1][:2] == (2, "completed")
        transitions = stack.query("SELECT from_status, to_status FROM task_transitions WHERE task_id = ? ORDER BY id",
                                  (task_id,))
        assert transitions == [(None, "queued"), ("queued", "running"), ("running", "queued"),
                               ("queued", "running"), ("running", "completed")]
    finally:
        for runner in (first, second):
            if runner and runner.poll() is None:
                runner.send_signal(signal.SIGTERM)
                runner.wait(timeout=20)
