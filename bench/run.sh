#!/bin/sh
# Measures the real stack (nginx -> FastCGI -> SQLite, runner working alongside) with wrk:
# POST /api/v1/tasks and GET /api/v1/tasks/{id}.
#
#   bench/run.sh [build/bin] [seconds] [connections]
#
# SYNCHRONOUS=full measures durable commits (a commit survives power loss); HANDLER_THREADS=n
# sets the handler pool (default 16); RUNNER=paused stops the runner (SIGSTOP) while wrk runs,
# to measure the submission path alone.
set -eu
bin=$(cd "${1:-build/bin}" && pwd)
duration=${2:-10}
connections=${3:-32}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/stack.sh"
start_stack
# Stopped at whatever it was doing: in the middle of a write, the POSTs would wait for it and
# show as non-2xx answers below; in the middle of a read, the WAL could not start over and the
# last line would show it large. Either makes the run worthless; neither has happened so far.
if [ "${RUNNER:-active}" = paused ] && ! pkill -STOP -f "task-runner-runner --config $dir/task-runner.cfg"; then
    echo "bench: no runner to pause" >&2
    exit 1
fi

echo "== POST /api/v1/tasks: $connections connections, $duration s (synchronous=${SYNCHRONOUS:-normal}, runner ${RUNNER:-active})"
wrk -t2 -c"$connections" -d"${duration}s" -s "$here/task.lua" "$url"
id=$(curl -s -X POST "$url/api/v1/tasks" -d '{"task":"list the files in ."}' | sed 's/.*"task_id":"\([^"]*\)".*/\1/')
sleep 1
echo "== GET /api/v1/tasks/{id}: $connections connections, $duration s"
wrk -t2 -c"$connections" -d"${duration}s" -s "$here/task.lua" "$url" -- "$id"
echo "== tasks recorded: $(sqlite3 "$dir/data/task-runner.db" 'select count(*) from tasks'); WAL $(du -k "$dir/data/task-runner.db-wal" | cut -f1) KiB"
