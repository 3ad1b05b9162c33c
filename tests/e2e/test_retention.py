"""Retention and backup against a running stack under submission load: `task-runner backup`
(no request fails; the copy passes integrity_check and holds every task accepted before it
started), `task-runner prune` (old finished tasks go with their rows, queued and running ones
stay, no request fails), the runner's own retention (storage.retention_days), and `task-runner
restore` (refused while the stack runs; with it stopped, the restored stack serves the backed-up
tasks). The README's examples of the section are run here as written.

A thread POSTs tasks the whole time (SubmissionLoad); every answer must be 202. The backup's
figures (its duration, the POSTs accepted while it ran, its size) are printed, and appended as a
JSON line to $TR_RETENTION_FIGURES when that is set.
"""

import json
import os
import re
import sqlite3
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone

import requests

from conftest import BIN, ROOT, wait_until

HELLO = "list the files in ."


class SubmissionLoad:
    """POSTs one task after another on its own session until stopped; keeps every answer as
    (accepted_at, status, task_id), accepted_at on the monotonic clock."""

    def __init__(self, stack):
        self.url = stack.url + "/api/v1/tasks"
        self.answers = []
        self.errors = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        session = requests.Session()
        while not self._stop.is_set():
            try:
                response = session.post(self.url, json={"task": HELLO}, timeout=30)
                task_id = response.json().get("task_id") if response.status_code == 202 else None
                self.answers.append((time.monotonic(), response.status_code, task_id))
            except (requests.RequestException, ValueError) as e:
                self.errors.append(repr(e))
                self.answers.append((time.monotonic(), None, None))

    def __enter__(self):
        self._thread.start()
        wait_until(lambda: len(self.answers) >= 20, timeout=30, message="the load to run")
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=60)

    def accepted(self, before=None, after=None):
        return [task_id for at, status, task_id in list(self.answers) if status == 202
                and (before is None or at < before) and (after is None or at > after)]

    def wait_for_more(self, count=20):
        have = len(self.answers)
        wait_until(lambda: len(self.answers) >= have + count, timeout=30,
                   message=f"{count} more submissions")

    def assert_none_failed(self):
        failed = [(status, at) for at, status, _ in self.answers if status != 202]
        assert not failed and not self.errors, (failed[:5], self.errors[:5])


def cli(stack, *args, timeout=120):
    return subprocess.run([str(BIN / "task-runner"), *args, "--config", str(stack.config_path)],
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def writable(stack):
    """A writing connection to the live database (WAL: beside the stack's own), for setting up
    old tasks the way time would have."""
    db = sqlite3.connect(stack.db_path, timeout=30, isolation_level=None)
    db.execute("PRAGMA busy_timeout = 30000")
    return db


def days_ago(days):
    moment = datetime.now(timezone.utc) - timedelta(days=days)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def make_old(stack, ids, days=40):
    """Sets the tasks' end `days` back, in one transaction (the runner's pruning sees all or
    none of them)."""
    db = writable(stack)
    db.execute("BEGIN IMMEDIATE")
    db.executemany("UPDATE tasks SET finished_at = ? WHERE id = ?",
                   [(days_ago(days), task_id) for task_id in ids])
    db.execute("COMMIT")
    db.close()


def finished(stack, count):
    ids = [stack.submit(HELLO) for _ in range(count)]
    for task_id in ids:
        assert stack.wait_for(task_id)["status"] == "completed"
    return ids


def rows_of(stack, task_id):
    return {table: stack.query(f"SELECT count(*) FROM {table} WHERE task_id = ?", (task_id,))[0][0]
            for table in ("steps", "task_events", "task_status_changes")}


def report_figures(figures):
    print("backup under load:", json.dumps(figures))
    if os.environ.get("TR_RETENTION_FIGURES"):
        with open(os.environ["TR_RETENTION_FIGURES"], "a") as out:
            out.write(json.dumps(figures) + "\n")


def seed(stack, count, result_bytes=2000):
    """`count` finished tasks with a result of `result_bytes`, written straight into the database
    in one transaction (before the load starts: it holds the write lock meanwhile), so that the
    backup has tens of megabytes to copy."""
    db = writable(stack)
    db.execute("BEGIN IMMEDIATE")
    db.executemany(
        "INSERT INTO tasks (id, task, status, result, started_at, finished_at) "
        "VALUES (?, 'seeded', 'completed', json_quote(?), ?, ?)",
        [(f"seeded-{i}", "r" * result_bytes, days_ago(1), days_ago(1)) for i in range(count)])
    db.execute("COMMIT")
    db.close()


def test_a_backup_under_load_holds_every_accepted_task_and_fails_no_request(make_stack, tmp_path):
    stack = make_stack()
    finished(stack, 10)
    seed(stack, 20000)
    target = tmp_path / "backups" / "copy.db"
    target.parent.mkdir()
    with SubmissionLoad(stack) as load:
        started = time.monotonic()
        done = cli(stack, "backup", str(target))
        ended = time.monotonic()
        load.wait_for_more()
    assert done.returncode == 0, done.stderr
    load.assert_none_failed()
    copy = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
    assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    in_copy = {row[0] for row in copy.execute("SELECT id FROM tasks")}
    before = load.accepted(before=started)
    assert before and set(before) <= in_copy
    assert len(in_copy) <= len(stack.query("SELECT id FROM tasks"))
    copy.close()
    assert f"{len(in_copy)} tasks" in done.stdout and "integrity_check ok" in done.stdout
    assert os.stat(target).st_mode & 0o777 == 0o600
    assert [p.name for p in target.parent.iterdir()] == ["copy.db"], "no temporary left"
    report_figures({"seconds": round(ended - started, 3),
                    "copy_seconds": float(re.search(r"copied in ([\d.]+) s", done.stdout)[1]),
                    "posts_accepted_during": len(load.accepted(after=started, before=ended)),
                    "bytes": target.stat().st_size, "tasks": len(in_copy)})

    # FILE is never overwritten unless asked.
    again = cli(stack, "backup", str(target))
    assert again.returncode == 2 and "exists; pass --force" in again.stderr
    forced = cli(stack, "backup", str(target), "--force")
    assert forced.returncode == 0, forced.stderr


def test_prune_under_load_deletes_old_finished_tasks_and_leaves_the_rest(make_stack):
    stack = make_stack({"tools.command_timeout_seconds": 120})
    old = finished(stack, 12)
    kept = finished(stack, 3)
    # A running task, and a queued one behind it in a sequential batch, both made "old" too.
    batch = stack.post("/api/v1/tasks/batch", {"mode": "sequential", "tasks": [
        {"task": "run the command: sleep 60"}, {"task": HELLO}]})
    assert batch.status_code == 202, batch.text
    running, queued = [t["task_id"] for t in batch.json()["tasks"]]
    wait_until(lambda: stack.get(f"/api/v1/tasks/{running}").json()["status"] == "running",
               timeout=20, message="the long task to run")
    make_old(stack, old)
    db = writable(stack)
    db.execute("UPDATE tasks SET created_at = ?, started_at = ? WHERE id IN (?, ?)",
               (days_ago(400), days_ago(400), running, queued))
    db.close()
    assert stack.query("PRAGMA auto_vacuum") == [(2,)], "a new database is incremental"
    total_before = metric(stack, "ai_agent_tasks_total")
    with SubmissionLoad(stack) as load:
        dry = cli(stack, "prune", "--older-than", "30d", "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert "would prune 12 tasks" in dry.stdout and "completed 12" in dry.stdout, dry.stdout
        assert all(stack.get(f"/api/v1/tasks/{t}").status_code == 200 for t in old)
        done = cli(stack, "prune", "--older-than", "30d")
        load.wait_for_more()
    assert done.returncode == 0, done.stderr
    assert "pruned 12 tasks" in done.stdout and "returned" in done.stdout, done.stdout
    load.assert_none_failed()
    for task_id in old:
        assert stack.get(f"/api/v1/tasks/{task_id}").status_code == 404
        assert rows_of(stack, task_id) == {"steps": 0, "task_events": 0, "task_status_changes": 0}
    for task_id in kept + load.accepted():
        assert stack.get(f"/api/v1/tasks/{task_id}").status_code == 200
    assert stack.get(f"/api/v1/tasks/{running}").json()["status"] == "running"
    assert stack.get(f"/api/v1/tasks/{queued}").json()["status"] == "queued"
    assert metric(stack, "ai_agent_tasks_total") >= total_before, "counters never go down"


def metric(stack, name):
    text = stack.get("/metrics").text
    return float(re.search(rf"^{name} (\S+)$", text, re.M)[1])


def test_prune_refuses_bad_input_saying_why(make_stack):
    stack = make_stack()
    for args, message in [
            (["--older-than", "30x"], "--older-than must be a whole number and a unit"),
            (["--older-than", "-3d"], "not a whole number"),
            (["--older-than", "1.5d"], "not a whole number"),
            (["--older-than", "30d", "--status", "running"], "only finished tasks are pruned"),
            (["--older-than", "30d", "--status", "queued"], "only finished tasks are pruned"),
            ([], "prune needs --older-than")]:
        done = cli(stack, "prune", *args)
        assert done.returncode == 2 and message in done.stderr, (args, done.stderr)
    # Retention deletes history: only whoever may edit the file may set it, never a request.
    for setting in ({"retention_days": 1}, {"retention_days_by_status": {"failed": 1}},
                    {"prune_interval_seconds": 1}):
        put = stack.put("/api/v1/config", {"storage": setting})
        assert put.status_code == 400 and "cannot be changed through the API" in put.text, put.text
    shown = stack.get("/api/v1/config").json()
    assert shown["storage"]["retention_days"] == 0, shown


def test_the_runner_prunes_by_itself_when_retention_is_set(make_stack):
    stack = make_stack({"storage.retention_days": 1, "storage.prune_interval_seconds": 1,
                        "storage.retention_days_by_status.failed": 30})
    old = finished(stack, 6)
    recent = finished(stack, 3)
    failed = stack.run("run the command: exit 3")
    assert failed["status"] == "failed"
    with SubmissionLoad(stack) as load:
        make_old(stack, old + [failed["task_id"]], days=2)
        wait_until(lambda: all(stack.get(f"/api/v1/tasks/{t}").status_code == 404 for t in old),
                   timeout=30, message="the runner to prune the old tasks")
        load.wait_for_more()
    load.assert_none_failed()
    for task_id in recent + load.accepted():
        assert stack.get(f"/api/v1/tasks/{task_id}").status_code == 200
    assert stack.get(f"/api/v1/tasks/{failed['task_id']}").status_code == 200, "kept 30 days"
    assert re.search(r"event=tasks\.pruned .*count=6", stack.log()), stack.log()[-2000:]


def test_restore_is_refused_while_the_stack_runs_and_then_serves_the_backup(make_stack, tmp_path):
    stack = make_stack()
    backed_up = finished(stack, 5)
    backup = tmp_path / "copy.db"
    assert cli(stack, "backup", str(backup)).returncode == 0
    later = finished(stack, 2)
    refused = cli(stack, "restore", str(backup))
    assert refused.returncode == 4 and "is in use" in refused.stderr, refused.stderr
    assert stack.get(f"/api/v1/tasks/{later[0]}").status_code == 200
    not_ours = tmp_path / "other.db"
    other = sqlite3.connect(not_ours)
    other.execute("CREATE TABLE tasks (id)")
    other.close()
    stack.stop()
    for bad_file, message in [(not_ours, "is not a Task Runner database"),
                              (stack.config_path, "is not a sound SQLite database"),
                              (tmp_path / "missing.db", "is not a file")]:
        bad = cli(stack, "restore", str(bad_file))
        assert bad.returncode == 2 and message in bad.stderr, (bad_file, bad.stderr)
    done = cli(stack, "restore", str(backup))
    assert done.returncode == 0, done.stderr
    assert f": {len(backed_up)} tasks, schema version" in done.stdout, done.stdout
    replaced = re.search(r"kept as (\S+) ", done.stdout)[1]
    assert os.path.exists(replaced)
    stack.start()
    for task_id in backed_up:
        assert stack.get(f"/api/v1/tasks/{task_id}").json()["status"] == "completed"
    for task_id in later:
        assert stack.get(f"/api/v1/tasks/{task_id}").status_code == 404
    assert stack.run(HELLO)["status"] == "completed", "the restored stack runs tasks"


# -- the README's examples ---------------------------------------------------------------------


def readme_blocks():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Retention and backup\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, re.S)


def run_block(stack, block, backups):
    text = block.replace("build/bin/", f"{BIN}/").replace("/var/backups/task-runner", str(backups))
    env = dict(os.environ, TASK_RUNNER_CONFIG=str(stack.config_path))
    return subprocess.run(["/bin/sh", "-ec", text], env=env, capture_output=True, text=True,
                          timeout=300, cwd=ROOT)


def test_the_readme_examples_run_as_written(make_stack, tmp_path):
    prune, backup, restore = readme_blocks()
    stack = make_stack()
    old = finished(stack, 4)
    make_old(stack, old, days=100)
    backups = tmp_path / "backups"
    backups.mkdir()
    done = run_block(stack, prune, backups)
    assert done.returncode == 0, done.stderr
    assert "would prune 4 tasks" in done.stdout and "pruned 4 tasks" in done.stdout, done.stdout
    # The paragraph's --vacuum, on this (incremental) database: every free page returned.
    vacuum = cli(stack, "prune", "--older-than", "90d", "--vacuum")
    assert vacuum.returncode == 0 and "returned every free page" in vacuum.stdout, vacuum.stdout
    db = sqlite3.connect(f"file:{stack.db_path}?mode=ro", uri=True)
    assert db.execute("PRAGMA freelist_count").fetchall() == [(0,)]
    db.close()  # an open connection, even this read-only one, would make restore refuse
    done = run_block(stack, backup, backups)
    assert done.returncode == 0, done.stderr
    (copy,) = backups.iterdir()
    restore = restore.replace("2026-12-01.db", copy.name)
    stack.stop()
    done = run_block(stack, restore, backups)
    assert done.returncode == 0, done.stderr
    stack.start()
    assert stack.get(f"/api/v1/tasks/{old[0]}").status_code == 404
