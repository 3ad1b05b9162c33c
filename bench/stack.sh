# Sourced by the bench scripts: starts a private stack from the binaries in $bin on a free port,
# with its own database in a temporary directory, limits raised so they measure the service and
# not the rate limit; stops it and removes the directory on exit. Sets $dir, $port, $url.
command -v wrk >/dev/null || { echo "bench: wrk is not installed (apt-get install -y wrk)" >&2; exit 2; }
dir=$(mktemp -d /tmp/task-runner-bench.XXXXXX)
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
mkdir -p "$dir/work"
cat > "$dir/task-runner.cfg" <<CFG
service = {
    bind_address = "127.0.0.1:$port"; log_level = "warn"; handler_threads = ${HANDLER_THREADS:-16};
    rate_limiting = { requests_per_minute = 1000000; burst_size = 100000; };
};
tools = { working_directory = "$dir/work"; allowed_paths = ["$dir/work"]; };
storage = { database = "$dir/data/task-runner.db"; synchronous = "${SYNCHRONOUS:-normal}"; };
CFG
launcher=""
# A runner a bench paused (SIGSTOP) is continued first, or it could not stop on the launcher's TERM.
# (set -e holds inside a trap too: every step here may fail without skipping the rest.)
trap 'pkill -CONT -f "task-runner-runner --config $dir/" 2>/dev/null || true
      if [ -n "$launcher" ]; then kill -TERM $launcher 2>/dev/null || true; wait $launcher 2>/dev/null || true; fi
      rm -rf "$dir"' EXIT INT TERM

start_stack() {
    "$bin/task-runner" serve --config "$dir/task-runner.cfg" >"$dir/stack.log" 2>&1 &
    launcher=$!
    for _ in $(seq 1 100); do
        curl -sf "$url/health" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "bench: the stack did not start:" >&2
    cat "$dir/stack.log" >&2
    exit 1
}
