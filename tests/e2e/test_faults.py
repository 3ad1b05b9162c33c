"""Faults, injected into the real stack: a runner frozen past its lease (SIGSTOP) and continued, a
runner killed in the middle of a command, of a model call or between tasks, a shutdown under load,
a result the database refuses to store. Each test asserts what the service promises: every
accepted task ends, none is recorded twice, the stale attempt changes nothing, and no command is
left running.
"""

import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from conftest import BIN, wait_until
from scripted_llm import ScriptedLLM, calls, complete, hang, plan
from test_recovery import start_runner, submit_by_cgi
from test_supervision import component_pid

TERMINAL = ("completed", "failed", "cancelled", "timeout")
LEASE = 5  # seconds: the shortest lease the configuration accepts


def processes(matching):
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if matching((entry / "cmdline").read_bytes().split(b"\0")):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def sleeping(seconds):
    """Pids of `sleep SECONDS` processes: a task's command itself (not the bwrap that holds it)."""
    return processes(lambda argv: argv[:2] == [b"sleep", seconds.encode()])


def parent_of(pid):
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None


def execute(stack, sql):
    """A write of the test's own into the stack's database (not through the API)."""
    with sqlite3.connect(stack.db_path, timeout=10) as db:
        db.execute(sql)


def registered_runners(stack):
    try:  # the file exists a moment before its tables do
        return stack.query("SELECT count(*) FROM runners WHERE stopped_at IS NULL")[0][0]
    except Exception:
        return 0


def runner_id_of(stack, pid):
    rows = stack.query("SELECT id FROM runners WHERE pid = ?", (pid,))
    return rows[0][0] if rows else None


def task_row(stack, task_id):
    return stack.query("SELECT status, attempts, runner_id, error_code FROM tasks WHERE id = ?",
                       (task_id,))[0]


def counter(stack, name):
    rows = stack.query("SELECT coalesce(sum(value), 0) FROM metric_counters WHERE name = ?", (name,))
    return rows[0][0]


def assert_consistent(stack, task_ids):
    """Every task ended exactly once, nothing is left running, the file is sound."""
    for task_id in task_ids:
        status = stack.query("SELECT status FROM tasks WHERE id = ?", (task_id,))
        assert status and status[0][0] in TERMINAL, (task_id, status)
        ends = stack.query("SELECT count(*) FROM task_transitions WHERE task_id = ? AND to_status IN "
                           "('completed', 'failed', 'cancelled', 'timeout')", (task_id,))[0][0]
        assert ends == 1, f"{task_id} ended {ends} times"
    assert stack.query("SELECT count(*) FROM steps WHERE status = 'running'")[0][0] == 0
    assert stack.query("PRAGMA integrity_check") == [("ok",)]


def stop(process):
    if process and process.poll() is None:
        os.kill(process.pid, signal.SIGCONT)  # a stopped process cannot act on SIGTERM
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def runners():
    started = []
    yield started
    for process in started:
        stop(process)


def runner_stack(make_stack, **overrides):
    settings = {"execution.lease_seconds": LEASE, "service.max_concurrent_tasks": 2}
    settings.update(overrides)
    return make_stack(settings, start=False)


def started_runner(stack, runners):
    before = registered_runners(stack)
    process = start_runner(stack)
    runners.append(process)
    # A runner checks its sandbox before it registers: seconds on a loaded machine.
    wait_until(lambda: registered_runners(stack) > before, timeout=30, message="the runner to register")
    return process


def wait_for_command(stack, task_id, attempt):
    wait_until(lambda: stack.query("SELECT status FROM steps WHERE task_id = ? AND attempt = ? AND "
                                   "tool = 'run_command'", (task_id, attempt)) == [("running",)],
               timeout=30, message=f"attempt {attempt}'s command to start")


def lease_lapsed(stack, task_id):
    return stack.query("SELECT lease_expires_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM tasks "
                       "WHERE id = ?", (task_id,)) == [(1,)]


def run_command_steps(stack, task_id):
    return stack.query("SELECT attempt, status FROM steps WHERE task_id = ? AND tool = 'run_command' "
                       "ORDER BY step_number, attempt", (task_id,))


@pytest.mark.parametrize("taken_back_by", ["another runner", "the same runner"])
def test_a_runner_stopped_past_its_lease_changes_nothing_and_its_command_is_gone(make_stack, runners,
                                                                                 taken_back_by):
    stack = runner_stack(make_stack)
    frozen = started_runner(stack, runners)
    marker = f"6.{os.getpid() % 1000:03d}{len(taken_back_by)}"  # a sleep no other test runs
    task_id = submit_by_cgi(stack, f"run the command: sleep {marker}")
    wait_for_command(stack, task_id, 1)
    wait_until(lambda: sleeping(marker), message="the command to run")
    fenced_before = counter(stack, "ai_agent_fenced_writes_total")

    frozen.send_signal(signal.SIGSTOP)
    # The watchdog kills the command while the lease still holds: before anyone could take over.
    wait_until(lambda: not sleeping(marker), timeout=LEASE * 2,
               message="the watchdog to kill the frozen runner's command")
    assert task_row(stack, task_id)[:2] == ("running", 1)

    if taken_back_by == "another runner":
        other = started_runner(stack, runners)
        wait_for_command(stack, task_id, 2)  # recovered and claimed by the other runner
        new_owner = runner_id_of(stack, other.pid)
        frozen.send_signal(signal.SIGCONT)
    else:
        new_owner = runner_id_of(stack, frozen.pid)
        wait_until(lambda: lease_lapsed(stack, task_id), timeout=LEASE * 2, message="the lease to lapse")
        frozen.send_signal(signal.SIGCONT)
        wait_for_command(stack, task_id, 2)

    wait_until(lambda: task_row(stack, task_id)[0] in TERMINAL, timeout=40, message="the task to end")
    assert task_row(stack, task_id) == ("completed", 2, new_owner, None)
    # Attempt 1's command step says it was interrupted (it may or may not have had its effect),
    # and the stale attempt, continued, wrote nothing over attempt 2's.
    assert run_command_steps(stack, task_id) == [(1, "interrupted"), (2, "completed")]
    assert counter(stack, "ai_agent_lease_recoveries_total") >= 1
    wait_until(lambda: counter(stack, "ai_agent_fenced_writes_total") > fenced_before,
               message="the stale attempt's refused write to be counted")
    assert "task.lease_lost" in stack.log()
    assert_consistent(stack, [task_id])
    assert not sleeping(marker)


def test_a_killed_runner_leaves_no_command_running(make_stack, runners):
    stack = runner_stack(make_stack)
    killed = started_runner(stack, runners)
    marker = f"7.{os.getpid() % 1000:03d}"
    task_id = submit_by_cgi(stack, f"run the command: sleep {marker}")
    wait_for_command(stack, task_id, 1)
    wait_until(lambda: sleeping(marker), message="the command to run")
    (watchdog,) = [pid for pid in processes(lambda argv: b"--watchdog" in argv) if parent_of(pid) == killed.pid]
    killed.send_signal(signal.SIGKILL)  # no chance to release or kill anything itself
    killed.wait(timeout=10)
    # Its watchdog sees the pipe close and kills the command at once, long before the lease.
    wait_until(lambda: not sleeping(marker), timeout=LEASE,
               message="the dead runner's command to be killed")
    wait_until(lambda: not Path(f"/proc/{watchdog}").exists() or
               "Z" in Path(f"/proc/{watchdog}/stat").read_text().rsplit(")", 1)[1].split()[0],
               timeout=LEASE, message="the watchdog to exit after its runner")
    started_runner(stack, runners)
    wait_until(lambda: task_row(stack, task_id)[0] in TERMINAL, timeout=40, message="the task to end")
    assert task_row(stack, task_id)[:2] == ("completed", 2)
    assert run_command_steps(stack, task_id) == [(1, "interrupted"), (2, "completed")]
    assert_consistent(stack, [task_id])


def test_runners_killed_between_and_during_quick_tasks_lose_and_repeat_nothing_unseen(make_stack, runners):
    stack = runner_stack(make_stack)
    (stack.work / "in.txt").write_text("kept\n")
    task_ids = [submit_by_cgi(stack, "read the file in.txt" if i % 2 else "list the files in .")
                for i in range(30)]
    for round_ in range(3):
        process = started_runner(stack, runners)
        goal = (round_ + 1) * 8
        wait_until(lambda: stack.query("SELECT count(*) FROM tasks WHERE status = 'completed'")[0][0] >= goal,
                   timeout=30, message=f"{goal} tasks to complete")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    started_runner(stack, runners)
    wait_until(lambda: all(task_row(stack, t)[0] in TERMINAL for t in task_ids), timeout=60,
               message="every task to end")
    assert {task_row(stack, t)[0] for t in task_ids} == {"completed"}
    assert_consistent(stack, task_ids)
    # A task taken back shows it: a later attempt. An attempt killed after its completion step
    # but before its result was stored ran again (at least once); each attempt completed once.
    for task_id in task_ids:
        per_attempt = stack.query("SELECT attempt, count(*) FROM steps WHERE task_id = ? AND "
                                  "step_type = 'completion' GROUP BY attempt", (task_id,))
        assert all(count == 1 for _, count in per_attempt), (task_id, per_attempt)
        assert max(attempt for attempt, _ in per_attempt) == task_row(stack, task_id)[1]


def test_a_shutdown_under_load_gives_running_tasks_back_without_using_an_attempt(make_stack, runners):
    stack = runner_stack(make_stack, **{"execution.shutdown_grace_seconds": 0})
    first = started_runner(stack, runners)
    marker = f"3.{os.getpid() % 1000:03d}"
    task_ids = [submit_by_cgi(stack, f"run the command: sleep {marker}") for _ in range(6)]
    wait_until(lambda: stack.query("SELECT count(*) FROM steps WHERE status = 'running' AND tool = 'run_command'")
               [0][0] == 2, timeout=30, message="both workers to run a command")
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=30) == 0
    assert not sleeping(marker)
    released = stack.query("SELECT count(*) FROM tasks WHERE status = 'queued' AND attempts = 0")[0][0]
    assert released == 6  # the two running ones too: a shutdown is not an attempt
    started_runner(stack, runners)
    wait_until(lambda: all(task_row(stack, t)[0] in TERMINAL for t in task_ids), timeout=60,
               message="every task to end")
    assert {task_row(stack, t)[:2] for t in task_ids} == {("completed", 1)}
    interrupted = stack.query("SELECT count(*) FROM steps WHERE status = 'interrupted' AND tool = 'run_command'")
    assert interrupted == [(2,)]
    assert_consistent(stack, task_ids)


def test_a_result_that_cannot_be_stored_is_retried_then_left_to_recovery(make_stack, runners):
    stack = runner_stack(make_stack)
    started_runner(stack, runners)
    # The database refuses every final write of a completed task, as a failing disk would.
    execute(stack, "CREATE TRIGGER refuse_results BEFORE UPDATE OF status ON tasks "
                   "WHEN new.status = 'completed' BEGIN SELECT RAISE(ABORT, 'injected: disk I/O error'); END")
    task_id = submit_by_cgi(stack, "list the files in .")
    wait_until(lambda: "task.unrecorded" in stack.log(), timeout=30,
               message="the runner to give up writing the result")
    assert task_row(stack, task_id)[:2] == ("running", 1)
    assert stack.log().count("task.end_write_failed") == 1  # said once, not at every try
    execute(stack, "DROP TRIGGER refuse_results")
    # Never running for ever: the lease lapses, recovery takes it, the next attempt stores it.
    wait_until(lambda: task_row(stack, task_id)[0] in TERMINAL, timeout=40, message="the task to end")
    assert task_row(stack, task_id)[:2] == ("completed", 2)
    assert_consistent(stack, [task_id])


KEY = "sk-test-faults-0123456789abcdef"


def test_a_runner_killed_mid_model_call_is_followed_by_an_attempt_told_what_ran(make_stack, runners):
    llm = ScriptedLLM(api_key=KEY)
    try:
        stack = runner_stack(make_stack, **{"model.provider": "openai", "model.endpoint": llm.endpoint,
                                            "model.api_key": KEY, "model.model_name": "test-model"})
        first = started_runner(stack, runners)
        llm.script(plan(), calls(("run_command", {"command": "echo first attempt"})), hang(60))
        task_id = submit_by_cgi(stack, "say something")
        wait_until(lambda: len(llm.requests) == 3, timeout=30, message="the third model call to be under way")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        llm.script(plan(), complete(True, "Checked: it had run."))
        seen = len(llm.requests)
        started_runner(stack, runners)
        wait_until(lambda: task_row(stack, task_id)[0] in TERMINAL, timeout=40, message="the task to end")
        assert task_row(stack, task_id)[:2] == ("completed", 2)
        told = json.dumps(llm.requests[seen]["body"]["messages"])
        assert "earlier attempt" in told and "run_command: echo first attempt (completed)" in told
        steps = stack.query("SELECT attempt, step_type, status FROM steps WHERE task_id = ? AND attempt = 1 "
                            "ORDER BY step_number", (task_id,))
        assert steps[-1] == (1, "analysis", "interrupted")  # the model call cut short
        assert_consistent(stack, [task_id])
    finally:
        llm.stop()


def test_clients_retrying_through_handler_kills_get_each_task_once(make_stack):
    """kill -9 of the handler in the middle of requests: the launcher restarts it, clients retry
    the same request under the same task_id (502, 503, refused), and each task exists once."""
    stack = make_stack()
    accepted, answers, lock = set(), [], threading.Lock()

    def client(count):
        session = requests.Session()
        for n in range(count):
            task_id = str(uuid.uuid4())
            body = {"task": "list the files in ." if n % 2 else "read the file in.txt", "task_id": task_id}
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    response = session.post(stack.url + "/api/v1/tasks", json=body, timeout=30)
                    status = response.status_code
                except requests.RequestException:
                    status = "refused"
                with lock:
                    answers.append(status)
                if status in (200, 202):
                    with lock:
                        accepted.add(task_id)
                    break
                assert status in (502, 503, 504, "refused"), status
                time.sleep(0.05)  # as a client backs off before it tries again

    (stack.work / "in.txt").write_text("kept\n")
    clients = [threading.Thread(target=client, args=(60,)) for _ in range(4)]
    for thread in clients:
        thread.start()
    for _ in range(3):
        wait_until(lambda: len(accepted) > 0 and stack.get("/health").status_code == 200, timeout=30,
                   message="the handler to answer")
        before = len(answers)
        wait_until(lambda: len(answers) > before + 10, timeout=30, message="requests in flight")
        handler = wait_until(lambda: component_pid(stack, "task-runner-fcg"), message="the handler")
        os.kill(handler, signal.SIGKILL)
        wait_until(lambda: component_pid(stack, "task-runner-fcg") not in (None, handler), timeout=30,
                   message="the launcher to restart the handler")
    for thread in clients:
        thread.join(timeout=120)
    assert len(accepted) == 240
    assert 500 not in answers
    for task_id in accepted:
        wait_until(lambda: task_row(stack, task_id)[0] in TERMINAL, timeout=60, message=f"{task_id} to end")
    assert stack.query("SELECT count(*) FROM tasks")[0][0] == 240
    assert_consistent(stack, accepted)
