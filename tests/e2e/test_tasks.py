"""A task's whole journey: HTTP -> nginx -> FastCGI -> SQLite -> runner -> tools -> result."""

import signal
import subprocess
import time
from pathlib import Path

from conftest import BIN, wait_until


def test_health_reports_database_and_a_live_runner(stack):
    response = stack.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert body["database"] == "ok"
    assert body["runners_alive"] >= 1


def test_list_files_task_completes_with_its_steps_and_rows(stack):
    (stack.work / "alpha.txt").write_text("a\n")
    (stack.work / "beta").mkdir(exist_ok=True)
    response = stack.post("/api/v1/tasks", {"task": "list the files in ."})
    assert response.status_code == 202
    accepted = response.json()
    assert accepted["status"] == "queued"
    assert response.headers["Location"] == f"/api/v1/tasks/{accepted['task_id']}"

    task = stack.wait_for(accepted["task_id"])
    assert task["status"] == "completed", task
    assert task["result"]["success"] is True
    assert "alpha.txt" in task["result"]["details"]
    assert task["plan"]["requirements"] == ["list_files"]
    tool_steps = [s for s in task["steps"] if s["step_type"] == "tool_use"]
    assert [s["tool"] for s in tool_steps] == ["list_files"]
    assert tool_steps[0]["status"] == "completed"
    assert "alpha.txt" in tool_steps[0]["output"] and "beta/" in tool_steps[0]["output"]
    assert [s["step_number"] for s in task["steps"]] == list(range(1, len(task["steps"]) + 1))
    for key in ("created_at", "started_at", "completed_at"):
        assert task[key].endswith("Z") and "T" in task[key]
    assert task["metrics"]["steps_executed"] == 1
    assert task["metrics"]["tools_used"] == 1 and task["metrics"]["tool_names"] == ["list_files"]
    assert task["metrics"]["tokens_used"] == 0 and task["metrics"]["tokens"]["total"] == 0

    rows = stack.query("SELECT id, status FROM tasks WHERE id = ?", (accepted["task_id"],))
    assert rows == [(accepted["task_id"], "completed")]
    transitions = stack.query(
        "SELECT from_status, to_status FROM task_transitions WHERE task_id = ? ORDER BY id",
        (accepted["task_id"],))
    assert transitions == [(None, "queued"), ("queued", "running"), ("running", "completed")]


def test_write_then_read_records_the_artifact(stack):
    task = stack.run("write 'hello from e2e' to notes/hello.txt, then read the file notes/hello.txt")
    assert task["status"] == "completed", task
    assert (stack.work / "notes" / "hello.txt").read_text() == "hello from e2e"
    assert task["result"]["artifacts"] == [{"path": "notes/hello.txt", "size": 14}]
    assert "hello from e2e" in task["result"]["details"]
    assert [s["tool"] for s in task["steps"] if s["step_type"] == "tool_use"] == ["write_file", "read_file"]


def test_chinese_read_and_summarize(stack):
    (stack.work / "README.md").write_text(
        "# Demo Project\n\nA small project used by the tests.\n\n## Usage\n\nRun it.\n\n## License\n\nMIT\n")
    task = stack.run("读取README.md文件并总结内容")
    assert task["status"] == "completed", task
    details = task["result"]["details"]
    assert "Title: Demo Project" in details
    assert "Usage" in details and "License" in details


def test_command_output_is_captured(stack):
    task = stack.run("run the command: echo out; echo err >&2; printf '%s' \"$HOME\"")
    assert task["status"] == "completed", task
    output = [s for s in task["steps"] if s["tool"] == "run_command"][0]["output"]
    assert "out" in output and "err" in output
    assert str(stack.work) in output  # HOME is the working directory, not the runner's


def test_failing_command_fails_the_task_with_its_exit_code(stack):
    task = stack.run("run the command: echo broken >&2; exit 3")
    assert task["status"] == "failed"
    assert task["error"]["code"] == "TOOL_FAILED"
    assert "exit code 3" in task["error"]["message"]
    assert task["result"]["success"] is False


def test_task_the_builtin_provider_does_not_understand_fails_clearly(stack):
    task = stack.run("Hello, Task Runner!")
    assert task["status"] == "failed"
    assert task["error"]["code"] == "PLANNING_FAILED"
    assert "read the file" in task["error"]["message"]  # it says what it does understand
    assert task["steps"][0]["step_type"] == "planning"
    assert task["steps"][0]["status"] == "failed"


def test_path_escaping_the_working_directory_is_refused(stack):
    secret = stack.work.parent / "secret.txt"
    secret.write_text("top secret")
    task = stack.run("read the file ../secret.txt")
    assert task["status"] == "failed"
    assert task["error"]["code"] == "TOOL_FAILED"
    assert "outside the allowed paths" in task["error"]["message"]
    assert "top secret" not in str(task)


def test_symlink_escaping_the_working_directory_is_refused(stack):
    link = stack.work / "innocent.txt"
    if not link.is_symlink():
        link.symlink_to("/etc/passwd")
    task = stack.run("read the file innocent.txt")
    assert task["status"] == "failed"
    assert "outside the allowed paths" in task["error"]["message"]
    assert "root:" not in str(task)


def test_write_escaping_the_working_directory_is_refused(stack):
    task = stack.run("write 'x' to ../../escaped.txt")
    assert task["status"] == "failed"
    assert not (stack.work.parent.parent / "escaped.txt").exists()


def sleeping_processes(marker):
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def test_command_that_outlives_the_task_timeout_is_killed_and_the_task_times_out(stack):
    started = time.monotonic()
    task = stack.run("run the command: sleep 47.25 & sleep 47.5",
                     context={"constraints": {"max_execution_time": 2}})
    assert task["status"] == "timeout", task
    assert task["error"]["code"] == "TIMEOUT"
    assert time.monotonic() - started < 20
    step = [s for s in task["steps"] if s["tool"] == "run_command"][0]
    assert step["status"] == "failed"
    wait_until(lambda: not sleeping_processes("sleep 47."), timeout=5,
               message="the command's whole process group to be gone")


def test_command_timeout_kills_the_command_and_fails_the_step(make_stack):
    stack = make_stack({"tools.command_timeout_seconds": 1})
    task = stack.run("run the command: sleep 38.5")
    assert task["status"] == "failed"
    assert "did not finish" in task["error"]["message"]
    wait_until(lambda: not sleeping_processes("sleep 38.5"), timeout=5, message="sleep to be killed")


def test_disabled_command_execution_is_refused_at_submission_and_at_run_time(make_stack):
    stack = make_stack({"tools.enable_command_execution": False})
    response = stack.post("/api/v1/tasks", {"task": "run the command: true",
                                            "context": {"tools": ["run_command"]}})
    assert response.status_code == 400
    assert "disabled" in response.json()["error"]["message"]
    task = stack.run("run the command: true")
    assert task["status"] == "failed"
    assert "not available" in task["error"]["message"]


def test_priority_decides_the_order_of_queued_tasks(make_stack):
    stack = make_stack({"service.max_concurrent_tasks": 1})
    blocker = stack.submit("run the command: sleep 1")
    wait_until(lambda: stack.get(f"/api/v1/tasks/{blocker}").json()["status"] == "running")
    low = stack.submit("list the files in .", priority="low")
    critical = stack.submit("list the files in .", priority="critical")
    normal = stack.submit("list the files in .")
    for task_id in (blocker, low, critical, normal):
        stack.wait_for(task_id)
    started = dict(stack.query("SELECT id, started_at FROM tasks"))
    assert started[critical] < started[normal] < started[low]


def test_two_runner_processes_share_the_queue_without_running_a_task_twice(make_stack):
    stack = make_stack()
    second = subprocess.Popen([str(BIN / "task-runner-runner"), "--config", str(stack.config_path)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until(lambda: stack.get("/health").json()["runners_alive"] >= 2, message="two runners")
        ids = [stack.submit(f"write 'task {i}' to out/{i}.txt") for i in range(40)]
        for task_id in ids:
            assert stack.wait_for(task_id)["status"] == "completed"
        attempts = stack.query("SELECT attempts, count(*) FROM tasks GROUP BY attempts")
        assert attempts == [(1, 40)]
        runners = stack.query("SELECT count(DISTINCT runner_id) FROM tasks")[0][0]
        assert runners >= 1
        steps = stack.query("SELECT count(*) FROM steps WHERE step_type = 'tool_use'")[0][0]
        assert steps == 40  # each task's write ran exactly once
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=20)


def test_sigterm_stops_the_whole_stack_and_leaves_no_process(make_stack):
    stack = make_stack()
    pids = stack.component_pids()
    assert len(pids) >= 4  # runner, handlers, nginx master and at least one worker
    assert stack.stop() == 0
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


def test_sigterm_lets_a_running_task_finish(make_stack):
    stack = make_stack({"execution.shutdown_grace_seconds": 10})
    task_id = stack.submit("run the command: sleep 1.5; echo finished")
    wait_until(lambda: stack.get(f"/api/v1/tasks/{task_id}").json()["status"] == "running")
    assert stack.stop() == 0
    assert stack.query("SELECT status FROM tasks WHERE id = ?", (task_id,)) == [("completed",)]


def test_a_task_interrupted_by_shutdown_goes_back_to_the_queue_and_runs_again(make_stack):
    stack = make_stack({"execution.shutdown_grace_seconds": 0})
    task_id = stack.submit("run the command: sleep 30")
    # The command's step, not only the task: a task is running a moment before its step exists.
    wait_until(lambda: stack.query("SELECT status FROM steps WHERE task_id = ? AND tool = 'run_command'",
                                   (task_id,)) == [("running",)], message="the command to start")
    assert stack.stop() == 0
    assert stack.query("SELECT status, attempts FROM tasks WHERE id = ?", (task_id,)) == [("queued", 0)]
    interrupted = stack.query("SELECT status, error FROM steps WHERE task_id = ? AND tool = 'run_command'",
                              (task_id,))
    assert interrupted[0][0] == "interrupted" and "shutdown" in interrupted[0][1]


def test_a_killed_launcher_takes_its_whole_stack_with_it(make_stack):
    stack = make_stack()
    pids = stack.component_pids()
    stack.process.send_signal(signal.SIGKILL)  # no handler runs: only the kernel can clean up
    stack.process.wait(timeout=10)

    def gone():
        return all(not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
                   for pid in pids)
    wait_until(gone, timeout=10, message="runner, handlers, nginx master and workers to exit")
