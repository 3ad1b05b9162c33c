"""The peer (bench/peer): redis-server on a free port in a temporary directory (never the
system's on 6379), uvicorn with one worker per core, a celery worker with 2 processes."""
import os
import shutil

import redis
import requests

from . import procs

PEER_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "peer")
NEEDED = {"redis-server": "redis-server", "uvicorn": "uvicorn", "fastapi": "python3-fastapi",
          "celery": "python3-celery", "redis": "python3-redis"}


def missing():
    """Debian packages the peer needs and this machine lacks."""
    lacking = []
    for module, package in NEEDED.items():
        if module == "redis-server":
            if not shutil.which("redis-server"):
                lacking.append(package)
            continue
        try:
            __import__(module)
        except ImportError:
            lacking.append(package)
    return lacking


class Peer:
    def __init__(self, work_dir):
        self.dir = procs.temp_dir("task-runner-peer.")
        self.redis_port = procs.free_port()
        self.port = procs.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = os.path.join(self.dir, "peer.log")
        self.env = dict(os.environ, BENCH_REDIS_URL=f"redis://127.0.0.1:{self.redis_port}",
                        PYTHONPATH=PEER_DIR, PYTHONDONTWRITEBYTECODE="1")
        self.work = work_dir
        self.processes = []

    def start(self):
        self.processes.append(procs.start("redis", [
            "redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
            "--dir", self.dir, "--save", "", "--appendonly", "no", "--daemonize", "no"],
            self.log))
        self.redis = redis.Redis(port=self.redis_port, db=1)
        procs.wait_until("redis answering", self._redis_up, 30, process=self.processes[0],
                         log_path=self.log)
        self.processes.append(procs.start("uvicorn", [
            "/usr/bin/python3", "-m", "uvicorn", "app:app", "--host", "127.0.0.1",
            "--port", str(self.port), "--workers", str(os.cpu_count()), "--log-level",
            "warning", "--no-access-log"], self.log, env=self.env, cwd=PEER_DIR))
        self.processes.append(procs.start("celery", [
            "/usr/bin/python3", "-m", "celery", "-A", "worker", "worker", "--concurrency", "2",
            "--loglevel", "WARNING"], self.log, env=self.env, cwd=PEER_DIR))
        procs.wait_until("uvicorn answering", self._answers, 60, process=self.processes[1],
                         log_path=self.log)
        procs.wait_until("the celery worker ready", self._worker_ready, 60,
                         process=self.processes[2], log_path=self.log)
        return self

    def _redis_up(self):
        try:
            return self.redis.ping()
        except redis.RedisError:
            return False

    def _answers(self):
        try:
            return requests.get(self.url + "/docs", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def _worker_ready(self):
        # One real job through broker, worker and backend.
        from celery import Celery
        app = Celery(broker=f"redis://127.0.0.1:{self.redis_port}/0",
                     backend=f"redis://127.0.0.1:{self.redis_port}/1")
        try:
            app.send_task("peer.list_directory", args=[self.work]).get(timeout=5)
            return True
        except Exception:  # not up yet: the next poll tries again
            return False

    def finished(self):
        """Results stored (each task's celery-task-meta-<id> key in db 1)."""
        return self.redis.dbsize()

    def reset(self):
        self.redis.flushall()

    def stop(self):
        for process in reversed(self.processes):
            procs.stop(process)
            procs.forget(process)
        self.processes = []
