"""wrk with bench/wrk.lua: one figure (requests/s, p50/p99 ms, errors) per call."""
import json
import os
import subprocess

LUA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "wrk.lua")


class Settings:
    threads = 2
    connections = 50
    seconds = 5


def run(url, body=None, key=None):
    argv = ["wrk", f"-t{Settings.threads}", f"-c{Settings.connections}",
            f"-d{Settings.seconds}s", "-s", LUA, url]
    if key:
        argv[1:1] = ["-H", f"Authorization: Bearer {key}"]
    env = dict(os.environ, BENCH_BODY=body or "")
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("BENCH "):
            return json.loads(line[len("BENCH "):])
    raise RuntimeError(f"bench: wrk printed no figure:\n{out}")
