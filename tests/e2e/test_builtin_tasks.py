"""The builtin planner through the whole stack: the original's first example (a project summary)
and the regressions where it rewrote what it was given (a command's final "?" or ".", a path of
dots). Every action is a real tool call of the agent loop, recorded as a step."""


def tool_steps(task):
    return [s for s in task["steps"] if s["step_type"] == "tool_use"]


def test_the_originals_first_example_summarizes_the_project_with_its_readme(stack):
    (stack.work / "README.md").write_text(
        "# Orchard Tools\n\n"
        "[![build](https://example.invalid/badge.svg)](https://example.invalid)\n\n"
        "Orchard Tools keeps track of apple trees and their harvests.\n"
        "It runs offline.\n\n"
        "## Install\n\nmake install\n\n## Usage\n\nSee below.\n")
    (stack.work / "src").mkdir(exist_ok=True)
    (stack.work / "src" / "main.c").write_text("int main(void) { return 0; }\n")
    (stack.work / "Makefile").write_text("all:\n")

    task = stack.run("分析这个项目并创建摘要")
    assert task["status"] == "completed", task
    steps = tool_steps(task)
    assert [s["tool"] for s in steps] == ["list_files", "read_file"]
    assert steps[0]["input"] == {"path": ".", "recursive": False}
    assert steps[1]["input"] == {"path": "README.md"}
    assert all(s["status"] == "completed" for s in steps)
    assert task["plan"]["requirements"] == ["list_files", "read_file"]

    result = task["result"]
    assert result["success"] is True
    # Extractive: the listing's counts and names, the README's title and first paragraph.
    assert "Orchard Tools" in result["summary"]
    assert "keeps track of apple trees and their harvests" in result["summary"]
    assert "src/" in result["details"] and "Makefile" in result["details"]
    assert "Sections (2): Install; Usage" in result["details"]
    assert "badge" not in result["summary"]


def test_a_project_without_a_readme_is_summarized_from_its_listing(stack):
    bare = stack.work / "bare"
    (bare / "docs").mkdir(parents=True, exist_ok=True)
    (bare / "notes.txt").write_text("x\n")
    task = stack.run("summarize this project", context={"working_directory": "bare"})
    assert task["status"] == "completed", task
    assert [s["tool"] for s in tool_steps(task)] == ["list_files"]
    assert "has no README" in task["result"]["summary"]
    assert "docs/" in task["result"]["details"] and "notes.txt" in task["result"]["details"]


def test_a_command_runs_exactly_as_written_final_question_mark_included(stack):
    task = stack.run("run the command: echo rc=$?")
    assert task["status"] == "completed", task
    [step] = tool_steps(task)
    assert step["input"]["command"] == "echo rc=$?"
    assert "stdout:\nrc=0\n" in step["output"], step["output"]


def test_a_command_keeps_its_final_dot_and_ends_at_comma_then(stack):
    task = stack.run("run the command: ls -d ., then list the files in .")
    assert task["status"] == "completed", task
    steps = tool_steps(task)
    assert [s["tool"] for s in steps] == ["run_command", "list_files"]
    assert steps[0]["input"]["command"] == "ls -d ."
    assert "stdout:\n.\n" in steps[0]["output"], steps[0]["output"]


def test_list_the_files_in_dot_dot_lists_the_parent(stack):
    (stack.work / "child").mkdir(exist_ok=True)
    (stack.work / "parent-marker.txt").write_text("here\n")
    task = stack.run("list the files in ..", context={"working_directory": "child"})
    assert task["status"] == "completed", task
    [step] = tool_steps(task)
    assert step["input"]["path"] == ".."
    assert "parent-marker.txt" in step["output"] and "child/" in step["output"]


def test_text_outside_a_quoted_command_is_refused_and_nothing_runs(stack):
    marker = stack.work / "smuggled"
    task = stack.run(f"run the command: `echo safe` && touch {marker}")
    assert task["status"] == "failed", task
    assert task["error"]["code"] == "PLANNING_FAILED", task
    assert tool_steps(task) == []
    assert not marker.exists()


def test_a_readme_that_is_not_text_is_reported_and_the_summary_still_completes(stack):
    binary = stack.work / "binary-readme"
    binary.mkdir(exist_ok=True)
    (binary / "README").write_bytes(b"\x7fELF\x00\x01\x02")
    task = stack.run("总结这个项目", context={"working_directory": "binary-readme"})
    assert task["status"] == "completed", task
    assert [s["tool"] for s in tool_steps(task)] == ["list_files", "read_file"]
    assert tool_steps(task)[1]["input"] == {"path": "README"}
    assert "README could not be read" in task["result"]["summary"]
