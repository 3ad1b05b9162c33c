"""The database's disk full, or read-only: writes answer 503 SERVICE_UNAVAILABLE with Retry-After
and a JSON error that says why (never 500), reads go on, and /health answers 503 with the reason;
once the disk is back, submissions are accepted again, /health is 200, and nothing stored is
damaged: the database passes integrity_check and every task accepted (202) before, during and
after ends, as it was submitted. The database directory is a small tmpfs (small_tmpfs: root only,
skipped otherwise)."""

import json
import os
import signal
import sqlite3
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import BIN, TERMINAL, wait_until
from test_openapi import check

TASK = "list the files in ."
DISK_FULL = "the database's disk is full"
READ_ONLY = "the database cannot be written: read-only"
# What a full disk may also surface as: SQLite grows the WAL index (-shm) with write(2), and a
# failure there is SQLITE_IOERR_SHMSIZE, an I/O error, though the cause is the same ENOSPC.
FULL_DISK_MESSAGES = {DISK_FULL, "the database cannot be read or written: I/O error"}
# A task that runs until the test creates "release" in its working directory.
HOLD = "run the command: until test -e release; do sleep 0.05; done; echo released"
WORKERS = 4  # service.max_concurrent_tasks of the full-disk stack


def stack_on_small_disk(small_tmpfs, make_stack, overrides=None):
    """A stack whose database directory is a 32 MB tmpfs."""
    stack = make_stack(overrides, start=False)
    disk = small_tmpfs(stack.db_path.parent, size_mb=32)
    return stack.start(), disk


class Submissions:
    """What was submitted, by label (its metadata), and which the service accepted (202)."""

    def __init__(self, stack):
        self.stack = stack
        self.accepted = {}  # task id -> label

    def post(self, label, task=TASK):
        response = self.stack.post("/api/v1/tasks", {"task": task, "metadata": {"label": label}})
        if response.status_code == 202:
            self.accepted[response.json()["task_id"]] = label
        return response

    def submit(self, label, task=TASK):
        response = self.post(label, task)
        assert response.status_code == 202, response.text
        return response.json()["task_id"]


def assert_refused(response, messages):
    """A 503 SERVICE_UNAVAILABLE with Retry-After and the documented JSON error; its message."""
    assert response.status_code == 503, (response.status_code, response.text)
    assert int(response.headers["Retry-After"]) >= 1
    error = check(response, "/api/v1/tasks", "POST")["error"]
    assert error["code"] == "SERVICE_UNAVAILABLE"
    assert error["message"] in messages, error
    return error["message"]


def health(stack):
    response = stack.get("/health")
    return response.status_code, check(response, "/health")


def unhealthy(stack):
    status, body = health(stack)
    return body if status == 503 else None


def intact(stack, accepted):
    """Every accepted task is there as it was submitted and has completed; the database is
    sound."""
    for task_id, label in accepted.items():
        body = stack.wait_for(task_id, timeout=60)
        assert body["metadata"] == {"label": label}, body
        assert body["status"] == "completed", (label, body["status"], body.get("error"), body.get("steps"))
    assert stack.query("PRAGMA integrity_check") == [("ok",)]
    assert stack.query("PRAGMA foreign_key_check") == []
    assert set(accepted) <= {row[0] for row in stack.query("SELECT id FROM tasks")}


def no_internal_errors(stack):
    """No handler answered 500 (the handlers log every one as request.failed)."""
    failed = [line for line in stack.log().splitlines() if "event=request.failed" in line]
    assert failed == [], failed[:5]


def hold_every_worker(stack, tasks):
    """Occupies each of the runner's workers with a HOLD task, running; their ids."""
    holders = [tasks.submit("holder", HOLD) for _ in range(WORKERS)]

    def holding():
        rows = stack.query("SELECT count(*) FROM steps WHERE tool = 'run_command' AND status = 'running'")
        return rows[0][0] == len(holders)
    wait_until(holding, timeout=30, message="every worker to run a holding command")
    return holders


def test_a_full_disk_refuses_writes_with_503_until_it_is_freed_and_nothing_is_lost(small_tmpfs, make_stack):
    # With API keys: a key's first use while the disk is full must not fail a read either.
    stack, disk = stack_on_small_disk(small_tmpfs, make_stack, {"service.require_api_key": True,
                                                                "service.max_concurrent_tasks": WORKERS})
    stack.session.headers["Authorization"] = "Bearer " + stack.create_key("ops", "read,submit")
    reader = {"Authorization": "Bearer " + stack.create_key("ops", "read")}  # not used until full
    tasks = Submissions(stack)
    done = {task_id: stack.wait_for(task_id) for task_id in [tasks.submit(f"before {i}") for i in range(5)]}
    # A WAL with room in it, as in any database that has run a while: after a checkpoint, SQLite
    # writes new transactions over the WAL's old frames, which a full disk does not stop.
    batch = stack.post("/api/v1/tasks/batch", {"tasks": [{"task": TASK, "metadata": {"label": "before"}}] * 100})
    assert batch.status_code == 202, batch.text
    for task in batch.json()["tasks"]:
        tasks.accepted[task["task_id"]] = "before"
        stack.wait_for(task["task_id"])
    with sqlite3.connect(stack.db_path, timeout=10) as db:
        db.execute("PRAGMA wal_checkpoint(PASSIVE)")
    # The runner stays up against the full disk, but with every worker busy until the disk is
    # back it takes on nothing meanwhile (what a runner does with a task whose end it cannot
    # record is test_a_task_whose_end_cannot_be_recorded_ends_once_the_disk_is_back).
    hold_every_worker(stack, tasks)

    disk.fill()
    assert disk.free_bytes() == 0
    body = wait_until(lambda: unhealthy(stack), timeout=10, message="/health to answer 503")
    assert body["status"] == "unhealthy" and body["database"] == "unwritable"
    assert body["reason"] == DISK_FULL

    # Submissions: accepted while the WAL has room (/health already says the disk is full),
    # then refused, and never a 500.
    def refused():
        response = tasks.post("during")
        return None if response.status_code == 202 else assert_refused(response, FULL_DISK_MESSAGES)
    assert wait_until(refused, timeout=60, interval=0, message="a submission to be refused") in FULL_DISK_MESSAGES
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(tasks.post, [f"concurrent {i}" for i in range(48)]))
    # A checkpoint may make room in the WAL again for a few: those are accepted and kept.
    messages = [assert_refused(r, FULL_DISK_MESSAGES) for r in answers if r.status_code != 202]
    assert len(messages) >= 24 and DISK_FULL in messages, (len(messages), set(messages))
    batch = stack.post("/api/v1/tasks/batch", {"tasks": [{"task": TASK, "metadata": {"label": "batch"}}] * 2})
    if batch.status_code == 202:
        tasks.accepted.update({t["task_id"]: "batch" for t in batch.json()["tasks"]})
    else:
        assert batch.status_code == 503 and int(batch.headers["Retry-After"]) >= 1, batch.text
        assert batch.json()["error"]["code"] == "SERVICE_UNAVAILABLE"

    # Reads go on, by a key used for the first time too.
    for task_id, before in done.items():
        response = stack.get(f"/api/v1/tasks/{task_id}", headers=reader)
        assert response.status_code == 200, response.text
        assert response.json() == before
    assert stack.get("/api/v1/tasks", headers=reader).status_code == 200
    assert unhealthy(stack)["reason"] == DISK_FULL

    disk.free()
    wait_until(lambda: health(stack)[0] == 200, timeout=30, message="/health to answer 200 again")
    (stack.work / "ops" / "release").touch()  # in the owner's workspace: API keys are on
    for i in range(5):
        tasks.submit(f"after {i}")

    intact(stack, tasks.accepted)
    for task_id, before in done.items():
        assert stack.get(f"/api/v1/tasks/{task_id}").json() == before
    no_internal_errors(stack)


def test_a_task_whose_end_cannot_be_recorded_ends_once_the_disk_is_back(small_tmpfs, make_stack):
    stack, disk = stack_on_small_disk(small_tmpfs, make_stack, {"execution.lease_seconds": 5})
    tasks = Submissions(stack)
    holder = tasks.submit("holder", HOLD)
    wait_until(lambda: stack.query("SELECT status FROM steps WHERE task_id = ? AND tool = 'run_command'",
                                   (holder,)) == [("running",)], timeout=30, message="the command to run")
    disk.fill()  # no checkpoint yet, so the WAL has no room to reuse: the task's end cannot be written
    wait_until(lambda: unhealthy(stack), timeout=10, message="/health to answer 503")
    (stack.work / "release").touch()

    def runner_failed_to_record():  # a warning or an error of the runner about the task
        return any(f"task_id={holder}" in line and "proc=runner" in line and "level=info" not in line
                   for line in stack.log().splitlines())
    wait_until(runner_failed_to_record, timeout=30, message="the runner to fail to record the task's end")
    disk.free()
    wait_until(lambda: health(stack)[0] == 200, timeout=30, message="/health to answer 200 again")
    # The command has ended; within a few lease lengths its end is recorded, or it runs again.
    assert stack.wait_for(holder, timeout=20)["status"] in TERMINAL
    assert stack.query("PRAGMA integrity_check") == [("ok",)]


def cgi_request(stack, method, path, body=None):
    """One request to the handler program run as a CGI program (as a CGI host runs it): its
    status, headers and parsed body."""
    data = json.dumps(body).encode() if body is not None else b""
    env = dict(os.environ, TASK_RUNNER_CONFIG=str(stack.config_path), REQUEST_METHOD=method,
               PATH_INFO=path, CONTENT_LENGTH=str(len(data)), CONTENT_TYPE="application/json")
    done = subprocess.run([str(BIN / "task-runner-fcgi")], input=data, capture_output=True, env=env,
                          timeout=30)
    head, _, text = done.stdout.partition(b"\r\n\r\n")
    assert done.returncode == 0 and head.startswith(b"Status: "), (done.returncode, done.stdout, done.stderr)
    assert b"event=request.failed" not in done.stderr, done.stderr  # no 500
    lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, json.loads(text)


def running(pid):
    """Whether any thread of a process is still alive. The leader of a multithreaded process turns
    zombie as soon as it has exited, while its other threads may still hold the files and mappings
    they share: only when every thread is a zombie (or gone) is nothing of it left open."""
    try:
        threads = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return False
    for thread in threads:
        try:
            if thread.joinpath("stat").read_text().rsplit(")", 1)[1].split()[0] not in "ZXx":
                return True
        except (OSError, IndexError):
            pass
    return False


def kill_stack(stack):
    """SIGKILL for every process of the stack, and wait until they are gone."""
    pids = set(stack.started_pids) | set(stack.component_pids()) | {stack.process.pid}
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    stack.process.wait(timeout=30)
    wait_until(lambda: not any(running(pid) for pid in pids), timeout=30,
               message="the stack's processes to exit")


def test_a_read_only_database_refuses_writes_with_503_and_health_says_why(small_tmpfs, make_stack):
    # The kernel will not remount a filesystem read-only while a file on it is open for writing
    # (EBUSY), so the disk goes read-only under a stack that has died, as when a filesystem the
    # kernel remounted read-only (errors=remount-ro) took its stack down: -wal and -shm stay
    # behind. The handlers then open the database read-only: reads work, writes cannot.
    stack, disk = stack_on_small_disk(small_tmpfs, make_stack)
    tasks = Submissions(stack)
    done = {task_id: stack.wait_for(task_id) for task_id in [tasks.submit(f"before {i}") for i in range(3)]}
    no_internal_errors(stack)  # the log starts afresh when the stack starts again
    kill_stack(stack)
    assert (stack.db_path.parent / "task-runner.db-wal").exists()
    with pytest.raises(OSError, match="busy"):  # what the kernel says with a database open
        with open(stack.db_path, "r+b"):
            disk.remount(read_only=True)
    disk.remount(read_only=True)

    status, headers, body = cgi_request(stack, "POST", "/api/v1/tasks", {"task": TASK})
    assert status == 503 and int(headers["Retry-After"]) >= 1, body
    assert body == {"error": {"code": "SERVICE_UNAVAILABLE", "message": READ_ONLY}}
    status, _, body = cgi_request(stack, "GET", "/health")
    assert status == 503, body
    assert body["status"] == "unhealthy" and body["database"] == "unwritable"
    assert body["reason"] == READ_ONLY
    for task_id, before in done.items():
        status, _, body = cgi_request(stack, "GET", f"/api/v1/tasks/{task_id}")
        assert status == 200 and body == before

    disk.remount(read_only=False)
    stack.start()
    assert health(stack)[0] == 200
    for i in range(3):
        tasks.submit(f"after {i}")
    intact(stack, tasks.accepted)
    for task_id, before in done.items():
        assert stack.get(f"/api/v1/tasks/{task_id}").json() == before
    no_internal_errors(stack)


def component(stack, name):
    """The pid of the launcher's child program `name` (task-runner-runner...)."""
    for pid in stack.component_pids():
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
        except OSError:
            continue
        if int(stat[1]) == stack.process.pid and argv0.endswith(name.encode()):
            return pid
    return None


def test_the_runner_claims_nothing_uncommitted_and_backs_off_on_a_full_disk(small_tmpfs, make_stack):
    stack, disk = stack_on_small_disk(small_tmpfs, make_stack)
    runner = component(stack, "task-runner-runner")
    tasks = Submissions(stack)
    os.kill(runner, signal.SIGSTOP)  # the queue fills while the runner cannot claim
    try:
        for i in range(40):
            tasks.submit(f"queued {i}")
        disk.fill()
    finally:
        os.kill(runner, signal.SIGCONT)
    wait_until(lambda: "event=runner.writes_failing" in stack.log(), timeout=30,
               message="the runner to notice that writes fail")
    disk.free()
    wait_until(lambda: "event=runner.writes_recovered" in stack.log(), timeout=30,
               message="the runner to resume")
    intact(stack, tasks.accepted)
    log = stack.log()
    # Said once per change, not at every try; and every task.started is a committed claim.
    assert log.count("event=runner.writes_failing") <= log.count("event=runner.writes_recovered") + 1
    assert log.count("event=runner.writes_failing") <= 3, log.count("event=runner.writes_failing")
    started = log.count("event=task.started")
    claims = stack.query("SELECT sum(attempts) FROM tasks")[0][0]
    assert started == claims, (started, claims)
