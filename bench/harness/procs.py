"""Every process and directory bench/run starts or makes, and their removal on any exit.

Each process runs in its own session (process group), so stopping it stops what it started
(nginx's workers, uvicorn's and celery's children, the runner's commands). Cleanup runs on a
normal exit, on an exception, and on SIGINT/SIGTERM (turned into SystemExit)."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

_processes = []  # (name, Popen), in start order
_directories = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def temp_dir(prefix):
    path = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    _directories.append(path)
    return path


def start(name, argv, log_path, **kwargs):
    log = open(log_path, "ab")
    try:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True, **kwargs)
    finally:
        log.close()
    _processes.append((name, process))
    return process


def wait_until(what, condition, timeout=30.0, interval=0.05, process=None, log_path=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if process is not None and process.poll() is not None:
            break
        time.sleep(interval)
    tail = ""
    if log_path and os.path.exists(log_path):
        with open(log_path, errors="replace") as f:
            tail = "\n" + "".join(f.readlines()[-10:])
    raise RuntimeError(f"bench: {what} did not happen within {timeout:.0f} s{tail}")


def stop(process, grace=20.0):
    """SIGCONT (a paused runner cannot act on TERM), SIGTERM to the group, SIGKILL after grace."""
    if process.poll() is not None:
        return
    for sig in (signal.SIGCONT, signal.SIGTERM):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()


def stop_all():
    while _processes:
        _, process = _processes.pop()
        stop(process)
    while _directories:
        shutil.rmtree(_directories.pop(), ignore_errors=True)


def forget(process):
    for i, (_, p) in enumerate(_processes):
        if p is process:
            del _processes[i]
            return


def install_signal_handlers():
    def interrupted(signum, _frame):
        signal.signal(signum, signal.SIG_IGN)  # a second Ctrl-C must not cut the cleanup short
        sys.stderr.write(f"\nbench: interrupted (signal {signum}), stopping what it started\n")
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)


def children(pid):
    """Direct children of pid, from /proc."""
    path = f"/proc/{pid}/task/{pid}/children"
    try:
        with open(path) as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def command_line(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def cpu_seconds(pid):
    """utime + stime of pid itself (not its children), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")
