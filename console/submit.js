// Submitting a task: its text, priority, working directory (the service refuses one outside
// tools.allowed_paths, and says so) and the tools it may use.
import { get, post } from "./api.js";
import { h, show } from "./dom.js";

export async function submitPage(main, { can }) {
  if (!can("submit")) {
    show(main, h("h1", {}, "Submit"), h("p", {}, "This key cannot submit tasks."));
    return null;
  }
  const tools = (await get("/api/v1/tools")).tools;
  const error = h("p", { class: "error", role: "alert", id: "submit-error" });
  const form = h("form", { id: "submit-form", class: "stacked" },
    h("label", { for: "task-text-input" }, "Task"),
    h("textarea", { id: "task-text-input", name: "task", rows: 4, required: true, maxlength: 100000 }),
    h("label", { for: "task-priority" }, "Priority"),
    h("select", { id: "task-priority", name: "priority" },
      ["low", "normal", "high", "critical"].map((p) => h("option", { value: p, selected: p === "normal" }, p))),
    h("label", { for: "task-workdir" }, "Working directory (optional; within the allowed paths)"),
    h("input", { id: "task-workdir", name: "working_directory", type: "text", autocomplete: "off" }),
    h("fieldset", {}, h("legend", {}, "Tools (none ticked: all)"),
      tools.map((tool) => h("label", { class: "check" },
        h("input", { type: "checkbox", name: "tools", value: tool.name }), " ", tool.name))),
    h("button", { type: "submit", id: "submit-task" }, "Submit"),
    error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const request = { task: data.get("task"), priority: data.get("priority") };
    const context = {};
    if (data.get("working_directory")) context.working_directory = data.get("working_directory");
    if (data.getAll("tools").length) context.tools = data.getAll("tools");
    if (Object.keys(context).length) request.context = context;
    try {
      const made = await post("/api/v1/tasks", request);
      location.hash = `#/task/${encodeURIComponent(made.task_id)}`;
    } catch (e) {
      error.textContent = e.message;
    }
  });
  show(main, h("h1", {}, "Submit a task"), form);
  form.querySelector("textarea").focus();
  return null;
}
