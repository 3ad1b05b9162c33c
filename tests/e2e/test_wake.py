"""The wake-up channel (core/wake_channel.h): an idle runner hears of a queued task at once
instead of at its next poll.

These stacks poll every 10 s. After its first look at the queue (at start), an idle runner looks
again only at the next poll tick, 10 s later, or when something tells it to: a wake, or one of
its own tasks finishing. So a task submitted after that first look that starts before
`runners.started_at + 10 s` was found through a wake. That is the condition asserted, not how
fast the wake was."""

import os
import signal
from datetime import datetime, timedelta

from conftest import wait_until
from test_supervision import RUNNER, kill_and_wait_for_successor

POLL_MS = 10000
POLL = timedelta(milliseconds=POLL_MS)


def utc(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def slow_polling_stack(make_stack, **overrides):
    return make_stack({"execution.poll_interval_ms": POLL_MS, "model.provider": "builtin", **overrides})


def wake_directory(stack):
    return stack.db_path.parent / (stack.db_path.name + "-wake")


def live_runner(stack, other_than=None):
    """(id, started_at) of the newest runner (not `other_than`), once its first look at the
    queue is surely over: its supervisor heartbeats and then looks, and the next heartbeat (2 s
    later) comes after that look."""
    def looked():
        rows = stack.query("SELECT id, started_at, heartbeat_at FROM runners WHERE stopped_at IS NULL "
                           "ORDER BY started_at DESC LIMIT 1")
        if rows and rows[0][0] != other_than and utc(rows[0][2]) >= utc(rows[0][1]) + timedelta(seconds=1):
            return rows[0][0], utc(rows[0][1])
        return None
    return wait_until(looked, timeout=30, message="the runner's second heartbeat")


def assert_woken(stack, task, runner_started):
    """The task started although no poll tick could have come: only a wake found it."""
    assert task["status"] == "completed", task
    started = utc(task["started_at"])
    assert started < runner_started + POLL, (task, runner_started, stack.log())
    assert started - utc(task["created_at"]) < timedelta(seconds=2), task


def test_a_submitted_task_starts_without_waiting_for_the_poll(make_stack):
    stack = slow_polling_stack(make_stack)
    runner, started = live_runner(stack)
    assert (wake_directory(stack) / f"{runner}.sock").exists()
    for _ in range(3):
        assert_woken(stack, stack.run("list the files in ."), started)


def test_a_batch_starts_without_waiting_for_the_poll_and_a_sequential_one_runs_straight_through(make_stack):
    stack = slow_polling_stack(make_stack)
    _, started = live_runner(stack)
    for mode in ("parallel", "sequential"):
        response = stack.post("/api/v1/tasks/batch", {"tasks": [{"task": "list the files in ."}] * 3,
                                                      "mode": mode})
        assert response.status_code == 202, response.text
        # A sequential batch's next task is freed when the one before finishes: the runner that
        # ran it looks again then, not at its next poll.
        for entry in response.json()["tasks"]:
            assert_woken(stack, stack.wait_for(entry["task_id"]), started)


def test_a_killed_runners_socket_is_removed_and_submissions_still_wake_the_next(make_stack):
    stack = slow_polling_stack(make_stack)
    old_runner, _ = live_runner(stack)
    old_socket = wake_directory(stack) / f"{old_runner}.sock"
    assert old_socket.exists()
    kill_and_wait_for_successor(stack, RUNNER)
    new_runner, started = live_runner(stack, other_than=old_runner)
    assert old_socket.exists()  # kill -9: nobody removed it
    response = stack.post("/api/v1/tasks", {"task": "list the files in ."})
    assert response.status_code == 202, response.text
    assert_woken(stack, stack.wait_for(response.json()["task_id"]), started)
    assert not old_socket.exists()  # the handler that sent to it found nobody there, and removed it
    assert sorted(p.name for p in wake_directory(stack).iterdir()) == [f"{new_runner}.sock"]


def test_a_runner_stopped_with_sigstop_does_not_hold_up_submissions(make_stack):
    stack = make_stack({"model.provider": "builtin", "execution.lease_seconds": 30})
    first, _ = live_runner(stack)
    pid = stack.query("SELECT pid FROM runners WHERE id = ?", (first,))[0][0]
    os.kill(pid, signal.SIGSTOP)
    try:
        # Far more wakes than its socket queues: each send that finds the queue full is dropped.
        ids = [stack.submit("list the files in .") for _ in range(40)]
        assert len(set(ids)) == 40
    finally:
        os.kill(pid, signal.SIGCONT)
    for task_id in ids:
        assert stack.wait_for(task_id)["status"] == "completed"


def test_without_a_usable_directory_the_runner_says_why_once_and_polls(make_stack):
    stack = make_stack({"model.provider": "builtin", "execution.poll_interval_ms": 200}, start=False)
    directory = wake_directory(stack)
    directory.parent.mkdir(parents=True, exist_ok=True)
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)  # other users could plant sockets in it: refused
    stack.start()
    for _ in range(3):
        assert stack.run("list the files in .")["status"] == "completed"
    log = stack.log()
    assert log.count("event=runner.wake_unavailable") == 1, log
    assert "has mode 0755" in log and "polling every 200 ms" in log, log
    # The handlers (one process here) say it once too, however many commits follow.
    assert log.count("event=wake.refused") == 1, log
    assert list(directory.iterdir()) == []
