"""The peer's Celery side: a redis broker and result backend, and the trivial job Task Runner's
builtin `list the files in .` does, listing a directory."""
import os

from celery import Celery

REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6390")
app = Celery("peer", broker=f"{REDIS}/0", backend=f"{REDIS}/1")
app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"],
                worker_hijack_root_logger=False)


@app.task(name="peer.list_directory")
def list_directory(path):
    return sorted(os.listdir(path))
