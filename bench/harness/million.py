"""The database of bench/run's growth figures: a million finished tasks, made honestly and
fast. A few hundred real tasks are run through the real stack first (the builtin provider: a
one-step listing, a ten-step task, a task that fails); then every row that belongs to them, in
every table with a task_id (steps, transitions, events, whatever the schema has by then), is
copied in SQL under new ids with its times moved back, until there are a million. So the rows
are what the service writes, and the copy follows the schema as it changes.

The triggers are dropped during the copy and put back after it: the copied rows already hold
what they wrote (transitions, events); only metric_counters keep counting the real tasks.
The result is cached under ~/.cache/task-runner-bench, named by a hash of db/migrations and this
file, so it is made again only when the schema or the fill changes."""
import glob
import hashlib
import os
import shutil
import sqlite3
import sys
import time

from .stack import Stack
from .workload import body, TEN_STEPS, FAILING

TEMPLATES = (90, 8, 2)  # listings (3 steps), ten-step tasks, failing tasks: 100 a round
ROUNDS = 2


def cache_path(source_dir, rows):
    digest = hashlib.sha256()
    for path in sorted(glob.glob(os.path.join(source_dir, "db", "migrations", "*.sql"))) + \
            [os.path.abspath(__file__)]:
        with open(path, "rb") as f:
            digest.update(f.read())
    digest.update(str(rows).encode())
    cache = os.path.join(os.path.expanduser("~"), ".cache", "task-runner-bench")
    os.makedirs(cache, exist_ok=True)
    return os.path.join(cache, f"million-{rows}-{digest.hexdigest()[:16]}.db")


def prepared(bin_dir, source_dir, rows, refill=False):
    path = cache_path(source_dir, rows)
    if os.path.exists(path) and not refill:
        return path
    for old in glob.glob(os.path.join(os.path.dirname(path), f"million-{rows}-*.db")):
        os.remove(old)
    started = time.monotonic()
    stack = Stack(bin_dir).start()
    try:
        texts = ["list the files in ."] * TEMPLATES[0] + [TEN_STEPS] * TEMPLATES[1] + \
                [FAILING] * TEMPLATES[2]
        for _ in range(ROUNDS):
            for text in texts:
                stack.submit(body(stack.workspace, text))
        stack.wait_finished(len(texts) * ROUNDS, 300)
    finally:
        stack.stop()
    scratch = path + ".partial"
    shutil.copyfile(stack.db_path, scratch)
    copy_rows(scratch, rows)
    os.replace(scratch, path)
    sys.stderr.write(f"bench: filled {rows} tasks in {time.monotonic() - started:.0f} s "
                     f"({path})\n")
    return path


def columns(db, table):
    # table_info leaves out generated columns (tasks.priority_rank), which cannot be inserted.
    return [(row[1], row[2].upper(), row[5]) for row in db.execute(f"PRAGMA table_info({table})")]


def copy_sql(db, table, id_expression):
    names = []
    values = []
    table_columns = columns(db, table)
    single_key = sum(1 for c in table_columns if c[2]) == 1
    for name, kind, pk in table_columns:
        if pk and kind == "INTEGER" and single_key:
            continue  # a rowid: the copy gets its own
        names.append(name)
        if (table == "tasks" and name == "id") or name == "task_id":
            values.append(id_expression(name))
        elif name.endswith("_at"):
            values.append(f"strftime('%Y-%m-%dT%H:%M:%fZ', {name}, '-' || (n * 60) || ' seconds')")
        else:
            values.append(name)
    key = "id" if table == "tasks" else "task_id"
    return (f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(values)} "
            f"FROM {table}, copies WHERE {table}.{key} IN (SELECT id FROM templates)")


def copy_rows(path, rows):
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = OFF")  # a scratch file, replaced only once it is whole
    templates = db.execute("SELECT count(*) FROM tasks").fetchone()[0]
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
              if r[0] != "tasks" and any(c[0] == "task_id" for c in columns(db, r[0]))]
    triggers = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
    # A copy's id: the template's UUID with its last 12 hex digits the copy's number.
    statements = [copy_sql(db, t, lambda c: f"substr({c}, 1, 24) || printf('%012x', n)")
                  for t in ["tasks"] + tables]
    for name, _ in triggers:
        db.execute(f"DROP TRIGGER {name}")
    db.execute("CREATE TEMP TABLE templates (id TEXT PRIMARY KEY)")
    db.execute("INSERT INTO templates SELECT id FROM tasks")
    copies = -(-rows // templates)
    chunk = 200
    for first in range(1, copies, chunk):
        last = min(first + chunk, copies) - 1
        db.execute("BEGIN")
        db.execute("CREATE TEMP TABLE copies (n INTEGER PRIMARY KEY)")
        db.executemany("INSERT INTO copies VALUES (?)", [(n,) for n in range(first, last + 1)])
        for statement in statements:
            db.execute(statement)
        db.execute("DROP TABLE copies")
        db.execute("COMMIT")
        sys.stderr.write(f"\rbench: filling, {(last + 1) * templates} tasks")
    sys.stderr.write("\n")
    for _, sql in triggers:
        db.execute(sql)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
