#!/bin/sh
# Measures the real stack (nginx -> FastCGI -> SQLite, runner working alongside) with wrk:
# POST /api/v1/tasks and GET /api/v1/tasks/{id}. Starts a private stack on a free port with its
# own database in a temporary directory, and stops it afterwards.
#
#   bench/run.sh [build/bin] [seconds] [connections]
set -eu
bin=$(cd "${1:-build/bin}" && pwd)
duration=${2:-10}
connections=${3:-32}
here=$(cd "$(dirname "$0")" && pwd)
command -v wrk >/dev/null || { echo "bench: wrk is not installed (apt-get install -y wrk)" >&2; exit 2; }

dir=$(mktemp -d /tmp/task-runner-bench.XXXXXX)
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$dir/work"
cat > "$dir/task-runner.cfg" <<CFG
service = {
    bind_address = "127.0.0.1:$port"; log_level = "warn";
    rate_limiting = { requests_per_minute = 1000000; burst_size = 100000; }; # measure the service, not the limit
};
tools = { working_directory = "$dir/work"; allowed_paths = ["$dir/work"]; };
storage = { database = "$dir/data/task-runner.db"; synchronous = "${SYNCHRONOUS:-normal}"; };
CFG
"$bin/task-runner" serve --config "$dir/task-runner.cfg" >"$dir/stack.log" 2>&1 &
launcher=$!
trap 'kill -TERM $launcher 2>/dev/null; wait $launcher 2>/dev/null; rm -rf "$dir"' EXIT INT TERM
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    sleep 0.1
done

url="http://127.0.0.1:$port"
echo "== POST /api/v1/tasks: $connections connections, $duration s (synchronous=${SYNCHRONOUS:-normal})"
wrk -t2 -c"$connections" -d"${duration}s" -s "$here/task.lua" "$url"
id=$(curl -s -X POST "$url/api/v1/tasks" -d '{"task":"list the files in ."}' | sed 's/.*"task_id":"\([^"]*\)".*/\1/')
sleep 1
echo "== GET /api/v1/tasks/{id}: $connections connections, $duration s"
wrk -t2 -c"$connections" -d"${duration}s" -s "$here/task.lua" "$url" -- "$id"
echo "== tasks recorded: $(sqlite3 "$dir/data/task-runner.db" 'select count(*) from tasks')"
