"""The launcher supervises its components: one killed outright (kill -9) is restarted with backoff,
logged and counted in /api/v1/status, nothing of the dead one is left behind, and work goes on; a
component that dies too often in a short window makes the launcher give up, stop the rest and
exit non-zero. A stop request still stops everything, and a component that cannot start fails
`serve` at once instead of being restarted."""

import os
import random
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, Stack, wait_until
from test_openapi import check
from test_tasks import sleeping_processes

# /proc/PID/comm of each component (the kernel keeps 15 characters of the name).
RUNNER, FCGI, NGINX = "task-runner-run", "task-runner-fcg", "nginx"
KILLED = "killed by signal 9 (Killed)"
NEVER_RESTARTED = {"restarts": 0, "last_exit": None, "last_restart_at": None}


def parse_stat(pid):
    """comm, state, ppid and start time of a process, from /proc/PID/stat; OSError once reaped."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2:].split()
    return {"comm": text[text.index("(") + 1:text.rindex(")")], "state": fields[0], "ppid": int(fields[1]),
            "start": int(fields[19])}


def identities(pids):
    """{pid: start time} of the processes alive now: a pid names the same process only while its
    start time is the same (pids are reused, and this machine has only 32768 of them)."""
    found = {}
    for pid in pids:
        try:
            found[pid] = parse_stat(pid)["start"]
        except OSError:
            continue
    return found


def all_gone(processes):
    """True once every process of `identities` has exited (a zombie has: only its parent's wait
    is missing; so has one whose pid now names another process)."""
    for pid, start in processes.items():
        try:
            stat = parse_stat(pid)
        except OSError:
            continue
        if stat["start"] == start and stat["state"] != "Z":
            return False
    return True


def component_pid(stack, comm):
    """The pid of the launcher's child named `comm`, or None while there is none."""
    for pid in stack.component_pids():
        try:
            stat = parse_stat(pid)
        except OSError:
            continue
        if stat["ppid"] == stack.process.pid and stat["comm"] == comm and stat["state"] != "Z":
            return pid
    return None


def descendants(stack, pid):
    """Every live process below `pid`, by /proc."""
    below, frontier = [], [pid]
    children = {}
    for candidate in stack.component_pids():
        try:
            children.setdefault(parse_stat(candidate)["ppid"], []).append(candidate)
        except OSError:
            continue
    while frontier:
        for child in children.get(frontier.pop(), []):
            below.append(child)
            frontier.append(child)
    return below


def supervising(stack):
    """Waits until the launcher has finished starting the stack: /health can answer the test
    before the launcher's own start-up check has seen it, and a death before that fails `serve`."""
    wait_until(lambda: "is serving on" in stack.log(), message="the launcher to report it serves")


def kill_and_wait_for_successor(stack, comm):
    """kill -9 the component named `comm`; the pid of the one the launcher starts in its place."""
    supervising(stack)
    old = component_pid(stack, comm)
    assert old, f"no {comm} running"
    os.kill(old, signal.SIGKILL)

    def successor():
        pid = component_pid(stack, comm)
        return pid if pid not in (None, old) else None
    new = wait_until(successor, timeout=30, message=f"{comm} to be started again")
    assert stack.process.poll() is None, stack.log()
    return old, new


def exactly(*argv):
    """Pids whose command line is `argv`."""
    wanted = "".join(f"{arg}\0" for arg in argv).encode()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_bytes() == wanted:
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def ready(stack, component, pid):
    """Waits until the launcher has seen the restarted component ready."""
    wait_until(lambda: f"event=launcher.ready component={component} pid={pid}" in stack.log(), timeout=30,
               message=f"the launcher to see {component} ready")


def api_answers(stack):
    try:
        return stack.get("/api/v1/tasks?limit=1").status_code == 200
    except OSError:
        return False


def components(stack):
    """The status's restart counts, the response checked against the documented schema."""
    return check(stack.get("/api/v1/status"), "/api/v1/status")["components"]


def test_a_killed_handler_process_is_restarted_and_the_api_answers_again(make_stack):
    stack = make_stack()
    before = stack.submit("run the command: sleep 1; echo before")
    old_process = identities([component_pid(stack, FCGI)])
    old, new = kill_and_wait_for_successor(stack, FCGI)
    wait_until(lambda: api_answers(stack), timeout=30, message="the API to answer again")
    ready(stack, "fcgi", new)
    after = stack.submit("run the command: echo after")
    assert stack.wait_for(before)["status"] == "completed"
    assert stack.wait_for(after)["status"] == "completed"
    restarts = components(stack)
    assert restarts["fcgi"]["restarts"] == 1 and restarts["fcgi"]["last_exit"] == KILLED, restarts
    assert restarts["fcgi"]["last_restart_at"], restarts
    assert restarts["runner"] == NEVER_RESTARTED and restarts["nginx"] == NEVER_RESTARTED, restarts
    assert stack.query("SELECT component, restarts, last_exit FROM component_restarts") == [("fcgi", 1, KILLED)]
    log = stack.log()
    assert f'event=launcher.component_died component=fcgi pid={old} exit="{KILLED}"' in log, log
    assert f"event=launcher.restarted component=fcgi pid={new}" in log, log
    assert list(old_process) == [old] and all_gone(old_process)


def test_a_runner_killed_while_a_task_runs_is_restarted_and_the_task_recovered(make_stack):
    stack = make_stack({"execution.lease_seconds": 5})
    # The first attempt leaves a mark and sleeps far longer than the test; the one that
    # recovers the task finds the mark and ends at once. The length marks this stack's sleep.
    length = f"{random.randint(40, 59)}.{random.randint(100, 999)}"
    task_id = stack.submit("run the command: test -e first.done && echo second || "
                           f"{{ touch first.done; sleep {length}; }}")
    # The sleep itself, not only a command line that holds it (bwrap's, the shell's): the mark
    # is made by then.
    wait_until(lambda: set(exactly("sleep", length)) & set(stack.component_pids()), timeout=30,
               message="the first attempt to sleep")
    assert (stack.work / "first.done").exists()
    sleeping = sleeping_processes(f"sleep {length}")
    runner = component_pid(stack, RUNNER)
    left_behind = identities(set(descendants(stack, runner)) | set(sleeping))
    assert left_behind
    old, new = kill_and_wait_for_successor(stack, RUNNER)
    assert old == runner
    wait_until(lambda: new in [r["pid"] for r in stack.get("/api/v1/status").json()["runners"]["list"]],
               timeout=30, message="the new runner to send its heartbeat")
    # Nothing of the dead runner's outlives it: its command and its sandbox die with it.
    wait_until(lambda: all_gone(left_behind), timeout=10,
               message=f"every process of the killed runner to be gone: {sorted(left_behind)}")
    task = stack.wait_for(task_id, timeout=60)
    assert task["status"] == "completed" and task["attempts"] == 2, task
    assert not sleeping_processes(f"sleep {length}")
    restarts = components(stack)
    assert restarts["runner"]["restarts"] == 1 and restarts["runner"]["last_exit"] == KILLED, restarts
    assert restarts["fcgi"] == NEVER_RESTARTED and restarts["nginx"] == NEVER_RESTARTED, restarts
    assert stack.get("/health").status_code == 200


def test_a_killed_nginx_is_restarted_without_its_workers(make_stack):
    stack = make_stack()
    master = component_pid(stack, NGINX)
    workers = identities(descendants(stack, master))
    assert workers, "nginx has no workers"
    old, new = kill_and_wait_for_successor(stack, NGINX)
    assert old == master
    wait_until(lambda: all_gone(workers), timeout=10, message="the old workers to be gone")
    wait_until(lambda: api_answers(stack), timeout=30, message="nginx to answer again")
    ready(stack, "nginx", new)
    assert stack.run("run the command: echo through the new edge")["status"] == "completed"
    restarts = components(stack)
    assert restarts["nginx"]["restarts"] == 1 and restarts["nginx"]["last_exit"] == KILLED, restarts
    assert restarts["runner"] == NEVER_RESTARTED and restarts["fcgi"] == NEVER_RESTARTED, restarts


def test_the_launcher_gives_up_after_five_deaths_in_a_minute_and_leaves_nothing_running(make_stack):
    stack = make_stack()
    seen = identities(stack.component_pids())
    for death in range(1, 5):
        _, new = kill_and_wait_for_successor(stack, FCGI)
        ready(stack, "fcgi", new)
        seen.update(identities(stack.component_pids()))
    assert components(stack)["fcgi"]["restarts"] == 4
    last = component_pid(stack, FCGI)
    os.kill(last, signal.SIGKILL)  # the fifth death within the window
    assert stack.process.wait(timeout=60) != 0
    log = stack.log()
    assert (f"fcgi died 5 times within 60 s (the last time: {KILLED}); the launcher gave up "
            "restarting it and stopped the stack") in log, log
    assert log.count("event=launcher.restarted component=fcgi") == 4, log
    assert "event=launcher.stopped" in log, log  # the rest were stopped, not abandoned
    wait_until(lambda: all_gone(seen), timeout=10,
               message="every process of the stack to be gone")
    assert stack.query("SELECT restarts FROM component_restarts WHERE component = 'fcgi'") == [(4,)]


def test_a_stop_request_wins_over_a_death_it_meets(make_stack):
    stack = make_stack()
    supervising(stack)
    processes = identities(stack.component_pids())
    # Held still, the launcher finds the death and the stop request waiting together.
    os.kill(stack.process.pid, signal.SIGSTOP)
    try:
        os.kill(component_pid(stack, FCGI), signal.SIGKILL)
        os.kill(stack.process.pid, signal.SIGTERM)
    finally:
        os.kill(stack.process.pid, signal.SIGCONT)
    assert stack.process.wait(timeout=60) == 0
    log = stack.log()
    assert "event=launcher.stopping" in log and "event=launcher.restarted" not in log, log
    wait_until(lambda: all_gone(processes), timeout=10, message="every process of the stack to be gone")


def test_a_runner_that_cannot_start_fails_serve_at_once(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("hiding bwrap needs root")
    # bubblewrap required, on a machine where it is missing (hidden in a mount namespace of the
    # launcher's own): the runner refuses to start, and restarting it would not help.
    stack = Stack(tmp_path / "no-bwrap", {"tools.sandbox": "bubblewrap"})
    done = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c",
         "mount --bind /dev/null /usr/bin/bwrap && exec \"$@\"", "hide-bwrap",
         str(BIN / "task-runner"), "serve", "--config", str(stack.config_path)],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, env=stack.env)
    assert done.returncode != 0
    assert 'tools.sandbox is "bubblewrap" but /usr/bin/bwrap is not installed' in done.stderr, done.stderr
    assert "task-runner: runner (exit code 1) exited while waiting until" in done.stderr, done.stderr
    assert "event=launcher.restarted" not in done.stderr, done.stderr
    # nginx, if it was started, stopped when asked: a stop signal that reached it while it was
    # still starting was sent again, not lost (it is PID 1 of its namespace).
    assert "event=launcher.kill" not in done.stderr, done.stderr

