"""The peer's API, what many would build instead of Task Runner: FastAPI validating the same
JSON body as POST /api/v1/tasks and enqueueing a Celery task; 202 with the task's id."""
from typing import Dict, Literal, Optional

from fastapi import FastAPI
from pydantic import BaseModel, constr

from worker import list_directory

app = FastAPI()


class Context(BaseModel):
    working_directory: Optional[str] = None
    environment: Dict[str, str] = {}


class TaskRequest(BaseModel):
    task: constr(min_length=1, max_length=100_000)
    priority: Literal["low", "normal", "high", "critical"] = "normal"
    metadata: Dict[str, str] = {}
    context: Context = Context()


@app.post("/api/v1/tasks", status_code=202)
def submit(request: TaskRequest):
    result = list_directory.delay(request.context.working_directory or ".")
    return {"task_id": result.id, "status": "queued"}
