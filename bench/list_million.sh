#!/bin/sh
# GET /api/v1/tasks on a database of a million tasks: the first page, a filtered page, and a
# page deep in the list (by cursor), each measured with wrk against the real stack.
#
#   bench/list_million.sh [build/bin] [rows]
set -eu
bin=$(cd "${1:-build/bin}" && pwd)
rows=${2:-1000000}
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
storage = { database = "$dir/data/task-runner.db"; };
CFG
"$bin/task-runner" migrate --config "$dir/task-runner.cfg" >/dev/null
echo "== filling $rows finished tasks"
sqlite3 "$dir/data/task-runner.db" <<SQL
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows)
INSERT INTO tasks (id, task, priority, status, created_at, started_at, finished_at, request_hash)
SELECT printf('bench-%08d', i), 'list the files in .',
       CASE i % 4 WHEN 0 THEN 'low' WHEN 1 THEN 'normal' WHEN 2 THEN 'high' ELSE 'critical' END,
       CASE WHEN i % 10 = 0 THEN 'failed' ELSE 'completed' END,
       strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || (i / 10.0) || ' seconds'),
       strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || (i / 10.0) || ' seconds'),
       strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || (i / 10.0 + 1) || ' seconds'), 'x'
FROM n;
ANALYZE;
SQL
"$bin/task-runner" serve --config "$dir/task-runner.cfg" >"$dir/stack.log" 2>&1 &
launcher=$!
trap 'kill -TERM $launcher 2>/dev/null; wait $launcher 2>/dev/null; rm -rf "$dir"' EXIT INT TERM
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    sleep 0.1
done
url="http://127.0.0.1:$port"
# A cursor half-way down the list, as a client paging through would hold it.
deep=$(sqlite3 "$dir/data/task-runner.db" "SELECT created_at || '~' || rowid FROM tasks WHERE rowid = $rows / 2")
for path in "/api/v1/tasks?limit=100" "/api/v1/tasks?status=failed&limit=100" \
            "/api/v1/tasks?priority=critical&limit=100" "/api/v1/tasks?limit=100&cursor=$deep"; do
    echo "== GET $path"
    wrk -t2 -c16 -d5s "$url$path" | grep -E "Requests/sec|Latency"
done
