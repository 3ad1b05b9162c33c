"""The measures of bench/run that wrk does not make: dispatch latency, end-to-end tasks per
second, and the scale figures from /proc. Each returns plain numbers; bench/run makes the table."""
import concurrent.futures
import datetime
import random
import threading
import time

import requests

from . import procs
from .workload import body, SLEEP


def percentile(values, p):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def epoch(timestamp):
    return datetime.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def started_latencies(stack, accepted, timeout=120):
    """accepted: {task id: time its 202 arrived}. Milliseconds from the 202 to started_at
    (0 where the runner started it before the answer reached the client)."""
    ids = list(accepted)
    procs.wait_until(f"{len(ids)} tasks started", lambda: len(started_at(stack, ids)) == len(ids),
                     timeout, 0.05)
    return [max(0.0, (epoch(t) - accepted[i]) * 1000) for i, t in started_at(stack, ids).items()]


def started_at(stack, ids):
    found = {}
    with stack.db() as db:
        for first in range(0, len(ids), 500):
            chunk = ids[first:first + 500]
            marks = ",".join("?" * len(chunk))
            found.update(db.execute(f"SELECT id, started_at FROM tasks WHERE id IN ({marks}) "
                                    "AND started_at IS NOT NULL", chunk).fetchall())
    return found


def dispatch_idle(stack, samples):
    """One task at a time, each after the previous one finished, a random pause between (so the
    submissions do not keep step with the runner's polling)."""
    accepted = {}
    for _ in range(samples):
        task_id = stack.submit(body(stack.workspace))
        accepted[task_id] = time.time()
        procs.wait_until("the task finished", lambda: stack.count(
            f"id = '{task_id}' AND finished_at IS NOT NULL") == 1, 30, 0.005)
        time.sleep(random.uniform(0.02, 0.08))
    return started_latencies(stack, accepted)


def dispatch_under_load(stack, rate, seconds, threads=4):
    """Submissions at `rate` a second for `seconds`, each on its own schedule: every one of
    them is a sample."""
    accepted = {}
    lock = threading.Lock()
    start = time.monotonic() + 0.1
    per_thread = rate / threads

    def submitter(offset):
        session = requests.Session()
        session.headers.update(stack.session.headers)
        session.headers["Content-Type"] = "application/json"
        payload = body(stack.workspace)
        k = 0
        while True:
            due = start + (k + offset / threads) / per_thread
            if due - start > seconds:
                return
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            answer = session.post(stack.url + "/api/v1/tasks", data=payload, timeout=30)
            if answer.status_code != 202:
                raise RuntimeError(f"bench: POST answered {answer.status_code}: {answer.text}")
            with lock:
                accepted[answer.json()["task_id"]] = time.time()
            k += 1

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(submitter, i) for i in range(threads)]:
            future.result()
    return started_latencies(stack, accepted, timeout=600)


def submit_all(url, headers, payload, count, threads=8):
    """POST the same body `count` times from `threads` connections; the 202s' count."""
    def worker(n):
        session = requests.Session()
        session.headers.update(headers)
        session.headers["Content-Type"] = "application/json"
        for _ in range(n):
            answer = session.post(url, data=payload, timeout=60)
            if answer.status_code != 202:
                raise RuntimeError(f"bench: POST {url} answered {answer.status_code}: "
                                   f"{answer.text[:300]}")
    shares = [count // threads + (1 if i < count % threads else 0) for i in range(threads)]
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(worker, n) for n in shares]:
            future.result()


def end_to_end(stack, count):
    """Tasks/s: `count` listings submitted as fast as 8 connections go, until all finished."""
    done_before = stack.count("finished_at IS NOT NULL")
    failed_before = stack.count("status != 'completed' AND finished_at IS NOT NULL")
    start = time.monotonic()
    submit_all(stack.url + "/api/v1/tasks", stack.session.headers, body(stack.workspace), count)
    procs.wait_until(f"{count} tasks finished",
                     lambda: stack.count("finished_at IS NOT NULL") >= done_before + count,
                     600, 0.02)
    elapsed = time.monotonic() - start
    failed = stack.count("status != 'completed' AND finished_at IS NOT NULL") - failed_before
    return count / elapsed, failed


def peer_end_to_end(peer, count):
    peer.reset()
    start = time.monotonic()
    submit_all(peer.url + "/api/v1/tasks", {}, body(peer.work), count)
    procs.wait_until(f"{count} peer tasks finished", lambda: peer.finished() >= count, 600, 0.02)
    return count / (time.monotonic() - start)


def scale(stack, count):
    """`count` tasks running `sleep 5`, submitted at once, sampled every 0.1 s from /proc until
    all finished: the most running at once, the runners' RSS then (MB, all runner processes),
    their CPU over the whole run (% of one core), the handlers' RSS idle and at its peak."""
    runners = stack.runner_pids()
    handlers = stack.handler_pids()
    handler_idle = sum(procs.rss_mb(p) for p in handlers)
    cpu_before = sum(procs.cpu_seconds(p) for p in runners)
    start = time.monotonic()
    submit_all(stack.url + "/api/v1/tasks", stack.session.headers, body(stack.workspace, SLEEP),
               count)
    peak = {"running": 0, "rss": 0.0, "handler": 0.0, "handler_idle": handler_idle}
    deadline = start + 300
    while time.monotonic() < deadline:
        running = stack.count("status = 'running'")
        if running >= peak["running"]:
            peak["running"] = running
            peak["rss"] = sum(procs.rss_mb(p) for p in runners)
        peak["handler"] = max(peak["handler"], sum(procs.rss_mb(p) for p in handlers))
        if stack.count("finished_at IS NOT NULL") >= count:
            break
        time.sleep(0.1)  # the sampling period
    else:
        raise RuntimeError(f"bench: {count} sleep tasks did not all finish within 300 s")
    peak["cpu"] = (sum(procs.cpu_seconds(p) for p in runners) - cpu_before) / \
        (time.monotonic() - start) * 100
    return peak
