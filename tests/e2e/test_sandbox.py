"""The escape catalogue: a command in the sandbox is an attacker with a shell. Each test is one
attempt, made through the real API as a task would make it, and checks that the attempt was
contained and the host is unchanged. An attempt that would harm the host if it worked uses a
harmless form: the clock set to its current value, a sysctl written with the value it has, a
probe file the test removes.

Most attempts run twice: against a stack run by root (as the README's first command and CI run
it: commands then run as tools.sandbox_uid) and against one run by an unprivileged user (bwrap
in a user namespace of its own, no cgroups: per-uid limits)."""

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

from conftest import (BIN, CANARY_ENV_SECRET, CANARY_MODEL_KEY, SANDBOX_UID, SERVICE_UID, Stack, secrets_in,
                      wait_until)
from test_tasks import sleeping_processes

ROOT_CAN_RUN = os.geteuid() == 0


def grants(directory, writable):
    """A stack laid out as the development config lays out the repository: the tasks work in a
    directory they may read (holding the config, the database and a .git), and write only in
    work/."""
    (directory / ".git" / "hooks").mkdir(parents=True, exist_ok=True)
    (directory / "work" / "repo" / ".git" / "hooks").mkdir(parents=True, exist_ok=True)
    return {
        "tools.working_directory": str(directory),
        "tools.allowed_paths": [str(directory)],
        "tools.writable_paths": [str(p) for p in writable],
        "tools.sandbox": "bubblewrap",
        "tools.max_task_write_bytes": 32 * 1024 * 1024,
        "tools.command_timeout_seconds": 30,
        "model.provider": "builtin",
        "model.api_key": CANARY_MODEL_KEY,
    }


@pytest.fixture(scope="module")
def root_jail(tmp_path_factory):
    if not ROOT_CAN_RUN:
        pytest.skip("the root stack needs root")
    directory = tmp_path_factory.mktemp("jail")
    # The programs' directory is writable too: the sandbox must bind it read-only all the same.
    stack = Stack(directory, grants(directory, [directory / "work", BIN])).start()
    stack.kind = "root"
    yield stack
    stack.shut_down()


@pytest.fixture(scope="module")
def user_jail():
    if not ROOT_CAN_RUN:
        pytest.skip("starting a stack as another user needs root")
    # Outside pytest's 0700 directories, with copies of the programs the user can run wherever
    # the repository is.
    directory = Path(tempfile.mkdtemp(prefix="tr-e2e-user-"))
    bin_dir = directory / "bin"
    bin_dir.mkdir()
    for program in ("task-runner", "task-runner-fcgi", "task-runner-runner"):
        shutil.copy2(BIN / program, bin_dir / program)
    stack = Stack(directory, grants(directory, [directory / "work"]), user=SERVICE_UID, bin_dir=bin_dir)
    stack.start()
    stack.kind = "user"
    yield stack
    try:
        stack.shut_down()
    finally:
        leaks = secrets_in(directory)  # before the directory goes (test_zz_secrets.py)
        shutil.rmtree(directory, ignore_errors=True)
        assert leaks == []


@pytest.fixture(params=["root", "user"])
def jail(request):
    return request.getfixturevalue(f"{request.param}_jail")


def shell(stack, command, timeout=60, **fields):
    """Runs `command` as a task; returns (task, how the command ended and what it printed: its
    step's output, which does not repeat the command)."""
    task = stack.run(f"run the command: {command}", timeout=timeout, **fields)
    steps = [s for s in task["steps"] if s["tool"] == "run_command"]
    assert steps, task
    assert steps[0]["output"], steps[0]["error"]  # it ran (a command that cannot start has none)
    return task, steps[0]["output"]


def runner_pid(stack):
    runners = stack.get("/api/v1/status").json()["runners"]["list"]
    assert len(runners) == 1, runners
    return runners[0]["pid"]


def probe_path(name):
    return Path(f"/{name}-{os.getpid()}")


# -- who the command is -------------------------------------------------------------------------


def test_the_command_has_no_capabilities_and_is_not_root(jail):
    _, out = shell(jail, "id -u; id -g; grep -E '^(Cap...|NoNewPrivs|Seccomp):' /proc/self/status")
    expected_uid = SANDBOX_UID if jail.kind == "root" else SERVICE_UID
    assert f"stdout:\n{expected_uid}\n{expected_uid}\n" in out, out
    for capability_set in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert f"{capability_set}:\t0000000000000000" in out, out
    assert "NoNewPrivs:\t1" in out and "Seccomp:\t2" in out, out


def test_status_says_how_commands_are_confined(jail):
    runner = jail.get("/api/v1/status").json()["runners"]["list"][0]
    assert runner["sandbox"] == "bubblewrap" and runner["network"] == "none"
    if jail.kind == "root":
        assert runner["sandbox_user"].startswith(f"uid {SANDBOX_UID}")
        assert "pids" in runner["cgroups"] and "memory" in runner["cgroups"] and "cpu" in runner["cgroups"]
    else:
        assert runner["sandbox_user"].startswith(f"uid {SERVICE_UID} (the runner's own)")
        assert runner["cgroups"].startswith("no pids, memory, cpu limit"), runner["cgroups"]
    assert jail.get("/health").json()["sandbox"] == "bubblewrap"
    assert jail.get("/api/v1/tools").json()["sandbox"] == "bubblewrap"


# -- the host's filesystem and kernel -----------------------------------------------------------


def test_remounting_usr_read_write_fails_and_nothing_is_created(jail):
    probe = Path(f"/usr/tr-escape-probe-{os.getpid()}")
    try:
        _, out = shell(jail, f"mount -o remount,bind,rw /usr && touch {probe}; mount -o remount,rw /; "
                             f"touch {probe}")
        assert "must be superuser" in out or "not permitted" in out, out
        assert not probe.exists()
    finally:
        probe.unlink(missing_ok=True)


def test_remounting_the_read_only_parent_from_a_sub_folder_fails(jail):
    (jail.work / "sub").mkdir(exist_ok=True)
    probe = jail.directory / f"parent-probe-{os.getpid()}"
    try:
        task, out = shell(jail, f"mount -o remount,rw {jail.directory}; mount --bind {jail.directory} "
                                f"{jail.work}/sub; touch {probe}",
                          context={"working_directory": "work/sub"})
        assert not probe.exists(), out
        assert "Read-only file system" in out or "Permission denied" in out, out
    finally:
        probe.unlink(missing_ok=True)


def test_sysctls_cannot_be_written_even_with_their_own_value(jail):
    value = Path("/proc/sys/vm/swappiness").read_text().strip()
    _, out = shell(jail, f"echo {value} > /proc/sys/vm/swappiness; echo $?; "
                         "exec 3>>/proc/sys/kernel/core_pattern && echo core_pattern-open")
    assert "core_pattern-open" not in out, out
    assert out.count("Read-only file system") + out.count("Permission denied") >= 2, out
    assert Path("/proc/sys/vm/swappiness").read_text().strip() == value


def test_sys_is_read_only(jail):
    _, out = shell(jail, "echo 1 > /sys/kernel/mm/ksm/run; touch /sys/probe")
    assert out.count("Read-only file system") + out.count("Permission denied") >= 2, out


def test_etc_shadow_is_not_there(jail):
    _, out = shell(jail, "cat /etc/shadow; ls /etc")
    assert "No such file or directory" in out and "shadow" not in out.split("stderr:")[0]


def test_dot_dot_and_symlinks_lead_nowhere_new(jail):
    _, out = shell(jail, "cat ../../../../../../etc/shadow; ln -sf / work/root; cat work/root/etc/shadow; "
                         "ln -sf /etc/shadow work/shadow; cat work/shadow")
    assert out.count("No such file or directory") == 3, out
    for request in ("read the file ../../../../../etc/passwd", "read the file work/root/etc/hostname",
                    "read the file work/shadow", "list the files in work/root"):
        task = jail.run(request)
        assert task["status"] == "failed", (request, task)
        assert "outside the allowed paths" in task["error"]["message"], task["error"]


def test_a_symlink_swapped_between_check_and_use_never_reaches_the_database(jail):
    (jail.work / "flip").write_text("harmless\n")
    # One task flips work/flip between a file and a link to the database as fast as it can,
    # while other tasks read it with read_file (checked by path, then opened by openat2).
    flipper = jail.submit(f"run the command: cd work; for i in $(seq 1 200000); do ln -sf "
                          f"../data/task-runner.db flip.l && mv -f flip.l flip; echo harmless > flip.f && "
                          f"mv -f flip.f flip; done")
    wait_until(lambda: jail.get(f"/api/v1/tasks/{flipper}").json()["status"] == "running")
    readers = [jail.submit("read the file work/flip") for _ in range(30)]
    for reader in readers:
        task = jail.wait_for(reader)
        text = json.dumps(task)
        assert "SQLite format" not in text, task
        assert task["status"] == "completed" or "symbolic link" in text or "service's own" in text, task
    jail.session.delete(f"{jail.url}/api/v1/tasks/{flipper}")
    jail.wait_for(flipper)


def test_a_granted_path_swapped_for_a_symlink_is_never_mounted(jail):
    # Regression (found in an attacker's review): a task narrowed to work/b/etc ran a second
    # command after another task had made work/b a link to /; bwrap followed it and mounted
    # the host's /etc, idmapped and writable. Now every mounted path is pinned before bwrap
    # starts and checked in the finished sandbox, before the command runs.
    target = jail.directory / "data"  # the service's own database lives there
    shell(jail, "rm -f b; mkdir -p b.real/etc && ln -sfn b.real b && echo made",
          context={"working_directory": "work"})
    shell(jail, "rm -f b && mv b.real b && echo back", context={"working_directory": "work"})
    victim = jail.submit("run the command: 'sleep 4', then run the command: 'cat task-runner.db | head -c 16; "
                         f"touch probe-{os.getpid()}; ls'",
                         context={"working_directory": "work/b/etc",
                                  "constraints": {"allowed_paths": ["work/b/etc"]}})
    wait_running(jail, victim)
    shell(jail, f"mv b b.old && ln -s {target} b && echo swapped", context={"working_directory": "work"})
    task = jail.wait_for(victim)
    text = json.dumps(task)
    assert "SQLite format" not in text, task
    assert not (target / f"probe-{os.getpid()}").exists()
    second = [s for s in task["steps"] if s["tool"] == "run_command"][1]
    assert second["status"] == "failed", second
    assert "not what it was" in second["error"] or "did not come out as planned" in second["error"], second
    shell(jail, "rm -f b; rm -r b.old", context={"working_directory": "work"})


def test_setuid_and_setgid_bits_cannot_be_set(jail):
    # Regression: what the sandbox user writes is stored as the service's user (root), so a
    # chmod 4755 made a setuid-root program on the host.
    _, out = shell(jail, "cp /usr/bin/id work/rootme; chmod 4755 work/rootme; echo chmod=$?; "
                         "chmod g+s work/rootme; install -m 4755 /usr/bin/id work/rootme2; mkdir -m 2777 work/sgid; "
                         "python3 -c \"import os; os.open('work/rootme3', os.O_CREAT | os.O_WRONLY, 0o4755)\"")
    assert "chmod=0" not in out, out
    for name in ("rootme", "rootme2", "rootme3", "sgid"):
        path = jail.work / name
        if path.exists():
            assert not path.stat().st_mode & 0o6000, (name, oct(path.stat().st_mode))
        path.unlink(missing_ok=True) if not path.is_dir() else path.rmdir()


def test_a_grant_narrowed_to_a_git_directory_leaves_it_read_only(jail):
    # Regression (a second attacker's pass): a task whose allowed_paths named work/repo/.git got
    # that directory as a writable root, and no .git below it to protect.
    hooks = jail.work / "repo" / ".git" / "hooks"
    for grant in ("work/repo/.git", "work/repo/.git/hooks"):
        _, out = shell(jail, f"touch {hooks}/pre-commit",
                       context={"working_directory": grant, "constraints": {"allowed_paths": [grant]}})
        assert "Read-only file system" in out, out
        assert not (hooks / "pre-commit").exists()


def test_a_tree_too_big_to_search_for_git_gets_its_command_refused(jail):
    # Regression (a second attacker's pass): past the bound of the .git search, the rest of the
    # tree went unsearched and a .git there writable. Now the command is refused instead.
    pad = jail.work / "pad"
    try:
        shell(jail, "mkdir -p work/pad && cd work/pad && seq 1 20001 | xargs mkdir && echo padded")
        task = jail.run(f"run the command: touch {jail.work}/repo/.git/hooks/pre-commit")
        assert task["status"] == "failed", task
        assert "too many to find every .git" in json.dumps(task), task
        assert not (jail.work / "repo" / ".git" / "hooks" / "pre-commit").exists()
    finally:
        shutil.rmtree(pad, ignore_errors=True)
    assert shell(jail, "echo usable again")[0]["status"] == "completed"


def test_git_stays_protected_behind_a_padded_tree(jail):
    # Regression: the walk for .git directories stopped after 4000 directories, so padding the
    # tree first left a repository unprotected.
    hooks = jail.work / "repo" / ".git" / "hooks"
    _, out = shell(jail, "mkdir -p work/pad && cd work/pad && for i in $(seq 1 200); do mkdir -p x$i/$(seq -s ' x' 1 40 | tr ' ' '\\n' | head -1); done; "
                         "cd ../..; mkdir -p $(seq -f 'work/t%g' 1 300); echo padded")
    assert "padded" in out
    _, out = shell(jail, f"echo 'echo pwned' > {hooks}/pre-commit")
    assert "Read-only file system" in out or "Permission denied" in out, out
    assert not (hooks / "pre-commit").exists()
    shell(jail, "rm -r work/pad work/t* && echo cleaned")


def test_a_fifo_does_not_hold_a_worker(jail):
    # Regression: read_file opened a FIFO and waited for a writer, past the task's deadline and
    # its cancellation, until every worker was stuck.
    shell(jail, "rm -f work/fifo; mkfifo work/fifo && echo made")
    started = time.monotonic()
    for request in ("read the file work/fifo", "append 'x' to work/fifo"):
        task = jail.run(request, context={"constraints": {"max_execution_time": 5}})
        assert task["status"] == "failed", task
        assert "not a regular file" in json.dumps(task) or "No such device" in json.dumps(task), task
    assert time.monotonic() - started < 10
    (jail.work / "fifo").unlink()


def test_vsock_is_refused(jail):
    _, out = shell(jail, "python3 -c \"import socket; socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)\"")
    assert "PermissionError" in out, out


# -- what a local program can do through the API while keys are off ----------------------------


def test_the_api_cannot_widen_the_grants_or_drop_the_sandbox(make_stack):
    stack = make_stack()
    for change in ({"tools": {"allowed_paths": ["/"]}}, {"tools": {"writable_paths": ["/etc"]}},
                   {"tools": {"sandbox": "none"}}, {"tools": {"network": "host"}},
                   {"service": {"require_api_key": False}}, {"service": {"allowed_hosts": ["*"]}},
                   {"service": {"cors": {"allowed_origins": ["https://attacker.example"]}}},
                   {"model": {"allowed_endpoint_hosts": []}}):
        response = stack.session.put(f"{stack.url}/api/v1/config", json=change, timeout=10)
        assert response.status_code == 400, (change, response.text)
        assert "only in the configuration file" in response.json()["error"]["message"]
    assert stack.query("SELECT count(*) FROM config_overrides") == [(0,)]


def test_a_model_endpoint_set_through_the_api_never_receives_the_configured_key(make_stack):
    from scripted_llm import ScriptedLLM, complete, plan
    listener = ScriptedLLM(api_key=None)  # an attacker's, taking whatever comes
    try:
        stack = make_stack({"model.provider": "openai", "model.api_key": CANARY_MODEL_KEY})
        response = stack.session.put(f"{stack.url}/api/v1/config/model", timeout=10,
                                     json={"endpoint": listener.endpoint})
        assert response.status_code == 200, response.text
        listener.script(plan(), complete("done"))
        stack.run("anything at all")
        assert listener.requests, "the task called the new endpoint"
        for request in listener.requests:
            assert "authorization" not in request["headers"], request["headers"]
            assert CANARY_MODEL_KEY not in json.dumps(request["body"])
    finally:
        listener.stop()



def test_the_database_can_be_neither_read_nor_written(jail):
    before = jail.query("SELECT count(*) FROM tasks")[0][0]
    _, out = shell(jail, "sqlite3 data/task-runner.db \"select value from config_overrides where path = 'model.api_key'\"; "
                         "cat data/task-runner.db-wal | head -c 64; "
                         "sqlite3 data/task-runner.db \"update tasks set status = 'failed'\"; ls -la data")
    assert "SQLite" not in out and CANARY_MODEL_KEY not in out, out
    assert "unable to open" in out or "Permission denied" in out, out
    for request in ("read the file data/task-runner.db", "read the file data/task-runner.db-wal",
                    "write 'x' to data/task-runner.db"):
        task = jail.run(request)
        assert task["status"] == "failed", (request, task)
    assert jail.query("SELECT count(*) FROM tasks WHERE status = 'failed' AND error_code IS NULL")[0][0] == 0
    assert jail.query("PRAGMA integrity_check") == [("ok",)]
    assert jail.query("SELECT count(*) FROM tasks")[0][0] >= before


def test_the_runners_wake_up_sockets_can_be_neither_seen_nor_written(jail):
    # The directory beside the database where each runner's socket waits for wakes
    # (core/wake_channel.h): masked like the database, so a task can neither list it nor send.
    wake = jail.db_path.parent / (jail.db_path.name + "-wake")
    sockets = [p.name for p in wake.iterdir()]
    assert sockets, "the runner has no wake-up socket"
    send = ("import socket; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); "
            f"s.sendto(b'w', '{wake}/{sockets[0]}'); print('WAKE' + '-SENT')")
    _, out = shell(jail, f"chmod 0700 {wake}; ls -la {wake}; python3 -c \"{send}\"; echo sent=$?")
    assert "WAKE-SENT" not in out and "sent=0" not in out, out
    assert all(name not in out for name in sockets), out
    task = jail.run(f"read the file data/{wake.name}/{sockets[0]}")
    assert task["status"] == "failed", task
    assert [p.name for p in wake.iterdir()] == sockets  # nothing made, moved or removed there


def test_the_config_file_can_be_neither_read_nor_written(jail):
    before = jail.config_path.read_bytes()
    _, out = shell(jail, "cat task-runner.cfg; echo 'tools = {};' >> task-runner.cfg; grep -r bind_address .")
    assert "bind_address" not in out.split("stderr:")[0], out
    assert jail.config_path.read_bytes() == before
    task = jail.run("read the file task-runner.cfg")
    assert task["status"] == "failed" and "service's own" in task["error"]["message"], task


def test_the_services_programs_are_never_writable(root_jail):
    # The stack lists them among its writable paths; they stay read-only all the same.
    probe = BIN / f"escape-probe-{os.getpid()}"
    try:
        _, out = shell(root_jail, f"touch {probe}; echo x >> {BIN}/task-runner-runner.probe")
        assert "Read-only file system" in out, out
        assert not probe.exists() and not (BIN / "task-runner-runner.probe").exists()
        task = root_jail.run(f"write 'x' to {probe}")
        assert task["status"] == "failed" and "read-only for every task" in task["error"]["message"]
        assert "read-only for tasks" in root_jail.log() and str(BIN) in root_jail.log()
    finally:
        probe.unlink(missing_ok=True)
        (BIN / "task-runner-runner.probe").unlink(missing_ok=True)


def test_git_directories_are_never_writable(jail):
    hooks = [jail.directory / ".git" / "hooks", jail.work / "repo" / ".git" / "hooks"]
    _, out = shell(jail, f"touch {hooks[0]}/pre-commit; echo 'echo pwned' > {hooks[1]}/post-checkout; "
                         f"cd work/repo && git init -q . ; echo done")
    assert out.count("Read-only file system") + out.count("Permission denied") >= 2, out
    assert not any((h / name).exists() for h in hooks for name in ("pre-commit", "post-checkout"))
    task = jail.run("write 'x' to work/repo/.git/hooks/pre-push")
    assert task["status"] == "failed" and "read-only for every task" in task["error"]["message"]


def test_protected_paths_in_the_grants_are_named_at_start_up(root_jail):
    log = root_jail.log()
    for path in (root_jail.db_path, root_jail.config_path):
        assert f"path=\"{path} (hidden from tasks)\"" in log, log
    assert f"{root_jail.directory}/.git (read-only for tasks)" in log


# -- limits that bind the whole task ------------------------------------------------------------


def wait_running(stack, task_id):
    def running_command():
        task = stack.get(f"/api/v1/tasks/{task_id}").json()
        return any(s["tool"] == "run_command" and s["status"] == "running" for s in task["steps"])
    wait_until(running_command, timeout=30, message="the command to run")


def test_a_fork_bomb_is_contained_and_another_task_forks_fine_meanwhile(root_jail):
    bomb = root_jail.submit("run the command: bomb() { bomb | bomb & }; bomb; sleep 4; echo bomb-over")
    wait_running(root_jail, bomb)
    neighbour, out = shell(root_jail, "for i in $(seq 1 30); do sh -c true || echo fork-failed; done; echo forked")
    assert neighbour["status"] == "completed" and "forked" in out and "fork-failed" not in out, out
    task = root_jail.wait_for(bomb)
    steps = [s for s in task["steps"] if s["tool"] == "run_command"]
    assert "limit of 256 processes" in steps[0]["output"], steps
    assert sleeping_processes("bomb") == []


def test_a_fork_bomb_run_by_a_user_is_bounded_by_its_process_limit(user_jail):
    task, out = shell(user_jail, "bomb() { bomb | bomb & }; bomb; sleep 2; echo bomb-over")
    assert "Cannot fork" in out or "Resource temporarily unavailable" in out, out
    assert user_jail.get("/health").status_code == 200


def test_four_processes_of_800_mb_share_one_memory_limit(root_jail):
    touch = "import time; b = bytearray(800 << 20); b[::4096] = b'x' * len(b[::4096]); time.sleep(2)"
    task, out = shell(root_jail, f"for i in 1 2 3 4; do python3 -c \"{touch}\" & done; wait; echo waited")
    assert "memory limit of 1024 MB" in out, out


def test_filling_the_disk_stops_at_the_write_limit(jail):
    try:
        _, out = shell(jail, "head -c 100000000 /dev/zero > work/big; ls -l work/big")
        assert "File size limit exceeded" in out, out
        assert (jail.work / "big").stat().st_size <= 32 * 1024 * 1024
    finally:
        (jail.work / "big").unlink(missing_ok=True)


def test_tmp_is_a_size_limited_tmpfs(jail):
    _, out = shell(jail, "head -c 20000000 /dev/zero > /tmp/a; head -c 20000000 /dev/zero > /tmp/b; "
                         "df -k /tmp | tail -1")
    assert "No space left on device" in out, out
    assert " 32768 " in out, out  # 32 MiB in all


# -- other processes, the network, the clock, the kernel -----------------------------------------


def test_the_api_and_the_network_are_out_of_reach(jail):
    _, out = shell(jail, f"curl -sS -m 3 -o /dev/null http://127.0.0.1:{jail.port}/health; echo curl=$?; "
                         "python3 -c \"import socket; socket.create_connection(('1.1.1.1', 53), 2)\"; "
                         "cat /proc/net/dev | cut -d: -f1 | tr -d ' '")
    assert "curl=7" in out, out
    assert "Network is unreachable" in out, out
    assert "eth" not in out.split("stdout:")[1].split("stderr:")[0], out


def test_raw_sockets_are_refused(jail):
    _, out = shell(jail, "python3 -c \"import socket; socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\"; "
                         "python3 -c \"import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, 1)\"")
    assert out.count("PermissionError") == 2, out


def test_devices_modules_namespaces_clock_and_kernel_log_are_refused(jail):
    _, out = shell(jail, "mknod /tmp/null c 1 3; echo mknod=$?; insmod /dev/null; echo insmod=$?; "
                         "unshare -r id; echo unshare=$?; unshare -m id; echo unshare_m=$?; "
                         "date -s \"$(date -R)\"; echo date=$?; dmesg | head -1; echo dmesg=$?; "
                         "mount -t tmpfs none /tmp; echo mount=$?; chroot / id; echo chroot=$?")
    for step in ("mknod", "insmod", "unshare", "unshare_m", "date", "mount", "chroot"):
        assert f"{step}=0" not in out, (step, out)
    assert "dmesg: read kernel buffer failed: Operation not permitted" in out, out
    assert out.count("Operation not permitted") >= 5, out


def test_tiocsti_cannot_type_into_a_terminal(jail):
    code = ("import fcntl, os, pty, termios; master, slave = pty.openpty(); "
            "fcntl.ioctl(slave, termios.TIOCSTI, b'x')")
    _, out = shell(jail, f"python3 -c \"{code}\"")
    assert "PermissionError" in out and "Operation not permitted" in out, out


def test_ptrace_of_another_process_is_refused(jail):
    code = ("import ctypes, os, subprocess; p = subprocess.Popen(['sleep', '5']); "
            "libc = ctypes.CDLL(None, use_errno=True); "
            "print('attach', libc.ptrace(16, p.pid, 0, 0), ctypes.get_errno()); p.kill()")
    _, out = shell(jail, f"python3 -c \"{code}\"")
    assert "attach -1 1" in out, out  # EPERM


def test_kill_all_reaches_only_the_tasks_own_processes(jail):
    other = jail.submit("run the command: sleep 3; echo survived")
    wait_running(jail, other)
    pid = runner_pid(jail)
    _, out = shell(jail, "kill -9 -1; echo after")
    assert "after" in out
    assert jail.wait_for(other)["status"] == "completed"
    assert "survived" in json.dumps(jail.get(f"/api/v1/tasks/{other}").json())
    assert runner_pid(jail) == pid and Path(f"/proc/{pid}").exists()


def test_the_runner_cannot_be_seen_or_killed(jail):
    pid = runner_pid(jail)
    _, out = shell(jail, f"kill -9 {pid}; echo kill=$?; ls /proc | grep -c '^[0-9]'")
    assert "kill=0" not in out, out
    assert Path(f"/proc/{pid}").exists() and jail.get("/health").status_code == 200
    visible = int(out.split("stdout:\n")[1].split("\n")[1])
    assert visible <= 4, out  # bwrap's init, the shell, ls and grep


def test_nothing_the_command_starts_outlives_it(jail):
    marker = 4900 + (1 if jail.kind == "root" else 2)
    _, out = shell(jail, f"sleep {marker}1 & setsid sleep {marker}2 & nohup sleep {marker}3 >/dev/null 2>&1 & "
                         f"(sleep {marker}4 &) ; sh -c 'sh -c \"sleep {marker}5 &\" &'; echo started")
    assert "started" in out
    wait_until(lambda: not any(sleeping_processes(f"sleep {marker}{i}") for i in range(1, 6)),
               message="the background processes to be gone")


def test_the_environment_holds_nothing_of_the_services(jail):
    _, out = shell(jail, "env; cat /proc/self/environ; cat /proc/1/environ; "
                         "for f in /proc/[0-9]*/environ; do cat $f; done 2>/dev/null; echo end")
    assert CANARY_ENV_SECRET not in out and CANARY_MODEL_KEY not in out, out
    assert "TASK_RUNNER" not in out and "TR_E2E_CANARY" not in out, out


def test_setuid_programs_give_nothing(jail):
    _, out = shell(jail, "su -c id root </dev/null; echo su=$?; "
                         "ls -l /usr/bin/su /usr/bin/passwd 2>&1 | head -2")
    assert "su=0" not in out, out


# -- owners, without and with bubblewrap --------------------------------------------------------


def test_an_owner_can_neither_read_nor_write_another_owners_files(make_stack):
    stack = make_stack({"service.require_api_key": True, "tools.sandbox": "bubblewrap"})
    alice, bob = stack.create_key("alice", "read,submit"), stack.create_key("bob", "read,submit")

    def run(key, task):
        response = stack.session.post(f"{stack.url}/api/v1/tasks", json={"task": task},
                                      headers={"Authorization": f"Bearer {key}"}, timeout=10)
        assert response.status_code == 202, response.text
        task_id = response.json()["task_id"]
        return wait_until(lambda: (lambda t: t if t["status"] in ("completed", "failed") else None)(
            stack.session.get(f"{stack.url}/api/v1/tasks/{task_id}",
                              headers={"Authorization": f"Bearer {key}"}, timeout=10).json()),
            timeout=30, message="the task")

    assert run(alice, "write 'alice-secret' to secret.txt")["status"] == "completed"
    secret = stack.work / "alice" / "secret.txt"
    assert secret.read_text() == "alice-secret"
    attempts = run(bob, f"run the command: cat ../alice/secret.txt {secret}; ls ..; "
                        f"echo bob > ../alice/secret.txt; echo bob > {secret}; find / -name secret.txt 2>/dev/null")
    out = json.dumps(attempts)
    assert "alice-secret" not in out, out
    for request in (f"read the file ../alice/secret.txt", f"read the file {secret}",
                    f"write 'bob' to ../alice/secret.txt", f"list the files in ../alice",
                    f"list the files in {stack.work}"):
        task = run(bob, request)
        assert task["status"] == "failed" and "alice-secret" not in json.dumps(task), (request, task)
    assert secret.read_text() == "alice-secret"
    assert (stack.work / "bob").is_dir()  # bob's own, made on first use


@pytest.fixture
def without_bubblewrap(make_stack):
    """A stack on a machine where bwrap is missing: /usr/bin/bwrap hidden in a mount namespace of
    the launcher's own, so the runner finds none (as "auto" then must)."""
    if not ROOT_CAN_RUN:
        pytest.skip("hiding bwrap needs root")
    wrapper = ["unshare", "-m", "--propagation", "private", "sh", "-c",
               "mount --bind /dev/null /usr/bin/bwrap && exec \"$@\"", "hide-bwrap"]
    stack = make_stack({"tools.sandbox": "auto", "model.provider": "builtin",
                        "model.api_key": CANARY_MODEL_KEY}, start=False)
    stack.wrapper = wrapper
    return stack.start()


def test_auto_without_bubblewrap_says_so_and_still_contains_the_command(without_bubblewrap):
    stack = without_bubblewrap
    assert "event=sandbox.unavailable" in stack.log() and "/usr/bin/bwrap is not installed" in stack.log()
    assert stack.get("/health").json()["sandbox"] == "none"
    assert stack.get("/api/v1/tools").json()["sandbox"] == "none"
    assert stack.get("/api/v1/status").json()["runners"]["list"][0]["sandbox"] == "none"
    pid = runner_pid(stack)
    marker = 4911
    _, out = shell(stack, f"id -u; cat /proc/{pid}/environ; env; cat /etc/shadow; "
                          f"curl -sS -m 3 -o /dev/null http://127.0.0.1:{stack.port}/health; echo curl=$?; "
                          f"setsid sleep {marker}1 & nohup sleep {marker}2 >/dev/null 2>&1 & echo started")
    assert f"stdout:\n{SANDBOX_UID}\n" in out, out
    assert CANARY_ENV_SECRET not in out and CANARY_MODEL_KEY not in out and "TASK_RUNNER" not in out, out
    assert "shadow: Permission denied" in out, out
    assert "curl=7" in out, out
    # The whole host is in view, but the service's own files are masked there too.
    _, out = shell(stack, f"cat {stack.config_path}; cat {stack.db_path} | head -c 16; "
                          f"ls -la /tmp/task-runner.*/ {stack.db_path}-wake; echo end")
    assert CANARY_MODEL_KEY not in out and "SQLite format" not in out and "bind_address" not in out, out
    assert ".sock" not in out, out  # the runners' wake-up sockets are masked too
    assert "fcgi.sock" not in out and "nginx.conf" not in out, out  # the run directory is masked
    wait_until(lambda: not sleeping_processes(f"sleep {marker}1") and not sleeping_processes(f"sleep {marker}2"),
               message="the background processes to be gone")
    # It still writes where it may, as the sandbox user, and the files stay the service's.
    task, out = shell(stack, "echo made > made.txt; ls -ln made.txt")
    assert task["status"] == "completed" and (stack.work / "made.txt").stat().st_uid == 0, out
