"""A small project's tests against Task Runner: a nightly job asks it to write a report from the
project's notes. One test runs on the offline builtin planner, one on the scripted model server,
which answers as a real model would, over the real wire format, with the calls the test scripts."""

from task_runner_pytest.scripted_llm import calls, complete, plan


def test_the_nightly_report_is_written(task_runner):
    task = task_runner.run("write 'all green' to nightly.txt")
    assert task["status"] == "completed"
    assert (task_runner.work / "nightly.txt").read_text() == "all green"
    # What the service recorded, read from its database.
    (tool,) = task_runner.db.execute(
        "SELECT tool FROM steps WHERE task_id = ? AND tool IS NOT NULL", (task["task_id"],)).fetchone()
    assert tool == "write_file"


def test_the_model_reads_the_notes_before_it_writes(task_runner):
    (task_runner.work / "notes.txt").write_text("build: ok\ntests: 412 passed\n")
    model = task_runner.use_scripted_model()
    model.script(plan(requirements=["read_file", "write_file"]),
                 calls(("read_file", {"path": "notes.txt"})),
                 calls(("write_file", {"path": "nightly.txt", "content": "412 tests passed"})),
                 complete(True, "Wrote nightly.txt."))
    task_id = task_runner.submit("Write tonight's report from notes.txt into nightly.txt")
    task = task_runner.wait(task_id, timeout=60)
    assert task["status"] == "completed", task
    assert (task_runner.work / "nightly.txt").read_text() == "412 tests passed"
    # The model was shown the notes: the read's result is in the request after it.
    assert "tests: 412 passed" in str(model.requests[2]["body"]["messages"])
