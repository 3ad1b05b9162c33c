"""The phases of bench/run, in order, each on its own fresh stack (or probe, or peer), adding
its rows to the table. A phase that fails says so in its row and the run goes on; what it
started is stopped either way."""
import os
import subprocess
import sys
import traceback

from . import measures, million, wrk
from .probe import Probe
from .stack import Stack
from .table import rate, ratio, wrk_figure
from .workload import body, TEN_STEPS

TASKS = "/api/v1/tasks"


class Run:
    def __init__(self, args, binaries, source, table):
        self.args, self.bin, self.source, self.table = args, binaries, source, table
        self.probe = {}  # synchronous -> wrk figure
        self.empty = {}  # growth's references: figures on a fresh database
        self.peer_e2e = None

    def submission_row(self, measure, figure, full=False):
        reference = self.probe.get("normal")
        text = ratio(figure["rps"], reference["rps"]) if reference else "n/a"
        if reference:
            text += f" (p99 {figure['p99'] / reference['p99']:.1f}×)"
        if full and self.probe.get("full"):
            text += f"; {ratio(figure['rps'], self.probe['full']['rps'])} of the FULL probe"
        self.table.add(measure, wrk_figure(figure), text, "probe, NORMAL")


def stage(name):
    sys.stderr.write(f"bench: {name}\n")


def probes(run):
    for synchronous in ("normal", "full"):
        stage(f"probe, synchronous={synchronous}")
        probe = Probe(run.bin, synchronous).start()
        try:
            figure = wrk.run(probe.url + TASKS, body("/srv/work"))
        finally:
            probe.stop()
        run.probe[synchronous] = figure
        text = ratio(figure["rps"], run.probe["normal"]["rps"])
        run.table.add(f"probe (nginx → libfcgi → Jansson → one INSERT), synchronous={synchronous}",
                      wrk_figure(figure), text, "probe, NORMAL")


def ten_step_task(stack):
    answer = stack.session.post(stack.url + TASKS + "?wait=60", data=body(stack.workspace, TEN_STEPS),
                                headers={"Content-Type": "application/json"}, timeout=90)
    task = answer.json()
    task_id = task.get("task_id") or task.get("id")
    stack.wait_finished(stack.count("1 = 1"), 60)
    detail = stack.session.get(f"{stack.url}{TASKS}/{task_id}", timeout=10).json()
    steps = len(detail.get("steps") or [])
    if detail.get("status") != "completed" or steps != 10:
        raise RuntimeError(f"bench: the ten-step task ended {detail.get('status')} with "
                           f"{steps} steps: {str(detail)[:400]}")
    return task_id


def submissions_paused(run):
    for synchronous in ("normal", "full"):
        stage(f"POST, runner paused, synchronous={synchronous}")
        stack = Stack(run.bin, synchronous).start()
        try:
            task_id = ten_step_task(stack) if synchronous == "full" else None
            handler_idle = sum(map(measures.procs.rss_mb, stack.handler_pids()))
            stack.pause_runners()
            figure = wrk.run(stack.url + TASKS, body(stack.workspace), stack.key)
            handler_loaded = sum(map(measures.procs.rss_mb, stack.handler_pids()))
            run.submission_row(f"POST {TASKS}, runner paused, synchronous={synchronous}",
                               figure, full=synchronous == "full")
            if synchronous == "full":
                run.empty["post"] = figure
                run.table.add("handler RSS, idle → after the paused POST run",
                              f"{handler_idle:.1f} → {handler_loaded:.1f} MB")
                reads(run, stack, task_id, run.empty)
        finally:
            stack.stop()


def reads(run, stack, task_id, into, reference=None, suffix=""):
    for name, path in (("get", f"{TASKS}/{task_id}"), ("list", f"{TASKS}?limit=50")):
        figure = wrk.run(stack.url + path, key=stack.key)
        into[name] = figure
        measure = (f"GET {TASKS}/{{id}}, finished, 10 steps" if name == "get"
                   else f"GET {TASKS}?limit=50") + suffix
        if reference:
            run.table.add(measure, wrk_figure(figure), ratio(figure["rps"], reference[name]["rps"]),
                          "empty database")
        else:
            run.table.add(measure, wrk_figure(figure))


def submissions_working(run):
    stage("POST, runner working, synchronous=full")
    stack = Stack(run.bin, "full").start()
    try:
        figure = wrk.run(stack.url + TASKS, body(stack.workspace), stack.key)
        handler = sum(map(measures.procs.rss_mb, stack.handler_pids()))
        run.submission_row(f"POST {TASKS}, runner working through them, synchronous=full",
                           figure, full=True)
        run.table.add("handler RSS after the working POST run", f"{handler:.1f} MB")
    finally:
        stack.stop()


def dispatch_and_end_to_end(run):
    stack = Stack(run.bin, "full").start()
    try:
        stage(f"dispatch, idle runner, {run.args.samples} samples")
        idle_cpu = runner_idle_cpu(stack)
        run.table.add("runner CPU, idle (3 s)", f"{idle_cpu:.1f} % of a core")
        latencies = measures.dispatch_idle(stack, run.args.samples)
        latency_row(run, f"dispatch 202 → started, idle runner ({len(latencies)} tasks)", latencies)
        stage(f"dispatch under {run.args.load_rate} submissions/s")
        latencies = measures.dispatch_under_load(stack, run.args.load_rate, 5)
        latency_row(run, f"dispatch 202 → started, {run.args.load_rate} submissions/s for 5 s "
                    f"({len(latencies)} tasks)", latencies)
        stack.wait_finished(stack.count("1 = 1"), 600)
        for runners in (1, 2):
            if runners == 2:
                add_runner(stack)
            stage(f"end to end, {run.args.tasks} tasks, {runners} runner(s)")
            tps, failed = measures.end_to_end(stack, run.args.tasks)
            figure = rate(tps, "tasks/s") + (f", **{failed} not completed**" if failed else "")
            run.table.add(f"end to end, {run.args.tasks} × `list the files in .`, {runners} "
                          f"runner process{'es' if runners > 1 else ''} × 10 workers", figure,
                          ratio(tps, run.peer_e2e) if run.peer_e2e else "n/a", "peer end to end")
    finally:
        stack.stop()


def runner_idle_cpu(stack, window=3.0):
    pids = stack.runner_pids()
    before = sum(measures.procs.cpu_seconds(p) for p in pids)
    measures.time.sleep(window)  # the measuring window itself
    return (sum(measures.procs.cpu_seconds(p) for p in pids) - before) / window * 100


def add_runner(stack):
    registered = stack.db().execute("SELECT count(*) FROM runners").fetchone()[0]
    stack.add_runner()
    measures.procs.wait_until("the second runner registered", lambda: stack.db().execute(
        "SELECT count(*) FROM runners").fetchone()[0] > registered, 30)


def latency_row(run, measure, latencies):
    run.table.add(measure, f"p50 {measures.percentile(latencies, 50):.1f} ms, "
                  f"p99 {measures.percentile(latencies, 99):.1f} ms, "
                  f"max {max(latencies):.1f} ms")


def scale(run):
    count = run.args.scale
    # One runner with them all when the config takes it, else two with half each.
    runners, per_runner = 1, count
    if not accepts(run, count):
        runners, per_runner = 2, -(-count // 2)
        run.table.note(f"service.max_concurrent_tasks = {count} is refused by the config: the "
                       f"scale rows ran 2 runner processes × {per_runner}")
    stage(f"scale: {count} × sleep 5 on {runners} runner(s) × {per_runner}")
    stack = Stack(run.bin, "full", max_concurrent=per_runner).start()
    try:
        if runners == 2:
            add_runner(stack)
        peak = measures.scale(stack, count)
        where = f"{runners} runner{'s' if runners > 1 else ''} × {per_runner}"
        run.table.add(f"{count} × `sleep 5` submitted at once ({where}): most running at once",
                      f"{peak['running']} of {count}" +
                      ("" if peak["running"] >= count else " (**not all at once**)"))
        run.table.add("… runner RSS at the peak (all runner processes)", f"{peak['rss']:.0f} MB")
        run.table.add("… runner CPU from submission to the last finish",
                      f"{peak['cpu']:.0f} % of a core")
        run.table.add("… handler RSS, idle → peak", f"{peak['handler_idle']:.1f} → "
                      f"{peak['handler']:.1f} MB")
    finally:
        stack.stop()


def accepts(run, max_concurrent):
    probe = Stack(run.bin, "full", max_concurrent=max_concurrent)
    result = subprocess.run([os.path.join(run.bin, "task-runner"), "config", "validate",
                             probe.config], capture_output=True, text=True)
    return result.returncode == 0


def growth(run):
    stage(f"growth: the {run.args.rows:,}-task database")
    path = million.prepared(run.bin, run.source, run.args.rows, run.args.refill)
    stack = Stack(run.bin, "full", database=path).start()
    try:
        with stack.db() as db:
            tasks = db.execute("SELECT count(*) FROM tasks").fetchone()[0]
            task_id = db.execute("SELECT t.id FROM tasks t JOIN steps s ON s.task_id = t.id "
                                 "WHERE t.status = 'completed' GROUP BY t.id "
                                 "HAVING count(*) = 10 LIMIT 1 OFFSET 500").fetchone()[0]
        stack.pause_runners()
        figure = wrk.run(stack.url + TASKS, body(stack.workspace), stack.key)
        reference = run.empty.get("post")
        run.table.add(f"POST {TASKS}, runner paused, synchronous=full ({tasks:,} tasks)",
                      wrk_figure(figure), ratio(figure["rps"], reference["rps"]) if reference
                      else "n/a", "empty database")
        stack.resume_runners()
        reads(run, stack, task_id, {}, reference=run.empty, suffix=f" ({tasks:,} tasks)")
        run.table.add(f"database bytes per task ({tasks:,} finished, 8% with 10 steps)",
                      f"{os.path.getsize(path) / tasks:,.0f} bytes")
    finally:
        stack.stop()


def peer(run):
    from .peer import Peer
    stage("peer: FastAPI + Celery + Redis")
    work = measures.procs.temp_dir("task-runner-peer-work.")
    for i in range(8):
        open(os.path.join(work, f"file{i}.txt"), "w").close()
    the_peer = Peer(work).start()
    try:
        figure = wrk.run(the_peer.url + TASKS, body(work))
        run.submission_row(f"peer: FastAPI ({os.cpu_count()} uvicorn workers) + Celery POST "
                           f"{TASKS}", figure)
        # The submissions above are still queued: the end-to-end figure starts empty.
        the_peer.stop()
        the_peer = Peer(work).start()
        run.peer_e2e = measures.peer_end_to_end(the_peer, run.args.tasks)
        run.table.add(f"peer end to end, {run.args.tasks} directory listings, 2 Celery "
                      "processes", rate(run.peer_e2e, "tasks/s"), "1.00", "peer end to end")
    finally:
        the_peer.stop()


def run_all(args, binaries, source, table):
    run = Run(args, binaries, source, table)
    phases = [probes, submissions_paused, submissions_working]
    if not args.no_peer:
        phases.append(peer)
    phases += [dispatch_and_end_to_end, scale]
    if not args.quick:
        phases.append(growth)
    for phase in phases:
        try:
            phase(run)
        except Exception as e:  # noqa: BLE001 -- the table says which phase failed and why
            traceback.print_exc()
            table.add(f"**{phase.__name__} failed**", str(e).splitlines()[0][:200])
