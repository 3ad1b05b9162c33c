"""The request bodies bench/run sends: realistic ones (task text, context with a working
directory, metadata with a few keys, a priority), the same for Task Runner and the peer."""
import json

LISTING = "list the files in ."
# Eight clauses, one step each in the builtin planner, between its planning and its report
# steps: a finished task with ten steps.
TEN_STEPS = ", then ".join(["list the files in ."] * 4 + ["read the file notes.txt"] * 4)
FAILING = "read the file missing.txt"
SLEEP = 'run the command "sleep 5"'


def body(work_dir, text=LISTING, priority="normal"):
    return json.dumps({
        "task": text,
        "priority": priority,
        "context": {"working_directory": work_dir},
        "metadata": {"source": "bench", "team": "platform", "ticket": "OPS-1042",
                     "requested_by": "nightly-report"},
    })
