#!/bin/sh
# GET /api/v1/tasks on a database of a million tasks: the first page, a filtered page, and a
# page deep in the list (by cursor), each measured with wrk against the real stack.
#
#   bench/list_million.sh [build/bin] [rows]
set -eu
bin=$(cd "${1:-build/bin}" && pwd)
rows=${2:-1000000}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/stack.sh"
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
start_stack
# A cursor half-way down the list, as a client paging through would hold it.
deep=$(sqlite3 "$dir/data/task-runner.db" "SELECT created_at || '~' || rowid FROM tasks WHERE rowid = $rows / 2")
for path in "/api/v1/tasks?limit=100" "/api/v1/tasks?status=failed&limit=100" \
            "/api/v1/tasks?priority=critical&limit=100" "/api/v1/tasks?limit=100&cursor=$deep"; do
    echo "== GET $path"
    wrk -t2 -c16 -d5s "$url$path" | grep -E "Requests/sec|Latency"
done
