// One task: its text, plan, timeline, steps with their input and output, result, artifacts,
// attempts, provider and model, webhook deliveries; live while it runs (its event stream, read
// with fetch since the key goes in a header); cancel and re-run.
import { del, followEvents, get, post } from "./api.js";
import { badge, facts, h, json, show, when } from "./dom.js";
import { timeline } from "./timeline.js";

const TERMINAL = ["completed", "failed", "cancelled", "timeout"];

function stepView(step) {
  return h("details", { class: "step" },
    h("summary", {}, `${step.step_number}. ${step.step_type}${step.tool ? " · " + step.tool : ""} — `, badge(step.status),
      step.execution_time_ms !== null ? ` ${step.execution_time_ms} ms` : ""),
    h("p", { class: "text" }, step.description),
    facts([["Attempt", step.attempt], ["Started", when(step.timestamp)],
           ["Tokens", step.tokens ? `${step.tokens.input ?? "—"} in / ${step.tokens.output ?? "—"} out` : null],
           ["Error", step.error]]),
    h("h4", {}, "Input"), json(step.input ?? null),
    h("h4", {}, "Output"), h("pre", { class: "output" }, step.output ?? "—"));
}

function callbackView(task) {
  if (!task.callback) return task.callback_url ? facts([["Callback URL", task.callback_url]]) : null;
  const attempts = task.callback.attempts || [];
  return h("section", { "aria-labelledby": "callback-title" },
    h("h2", { id: "callback-title" }, "Webhook"),
    facts([["URL", task.callback.url], ["State", badge(task.callback.state)]]),
    attempts.length ? h("table", {},
      h("thead", {}, h("tr", {}, ["#", "At", "HTTP status", "Error", "Duration"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, attempts.map((a) => h("tr", {},
        h("td", {}, a.attempt), h("td", {}, when(a.at)), h("td", {}, a.http_status ?? "—"),
        h("td", { class: "text" }, a.error ?? "—"), h("td", {}, `${a.duration_ms} ms`))))) : h("p", {}, "No attempt yet."));
}

function resultView(task) {
  if (!task.result) return task.error ? h("p", { class: "error" }, `${task.error.code}: ${task.error.message}`) : h("p", {}, "No result yet.");
  const artifacts = task.result.artifacts || [];
  return [
    task.error ? h("p", { class: "error" }, `${task.error.code}: ${task.error.message}`) : null,
    facts([["Success", String(task.result.success)], ["Summary", task.result.summary],
           ["Execution time", `${task.result.execution_time} s`]]),
    task.result.details ? h("pre", { class: "output" }, task.result.details) : null,
    h("h3", {}, "Artifacts"),
    artifacts.length ? h("ul", { id: "artifacts" }, artifacts.map((a) => h("li", {}, `${a.path} (${a.size} bytes)`))) : h("p", {}, "None."),
  ];
}

function view(task, can, actions) {
  const steps = task.steps || [];
  const tokens = task.metrics && task.metrics.tokens_used !== undefined ? task.metrics.tokens_used : null;
  return [
    h("h1", {}, "Task ", h("code", {}, task.task_id), " ", badge(task.status)),
    can("submit") ? actions : null,
    h("section", { "aria-labelledby": "text-title" }, h("h2", { id: "text-title" }, "Text"),
      h("pre", { class: "text", id: "task-text" }, task.task)),
    facts([["Priority", task.priority], ["Batch", task.batch_id ? h("a", { href: `#/batch/${encodeURIComponent(task.batch_id)}` }, task.batch_id) : null],
           ["Provider", task.provider], ["Model", task.model], ["Attempts", task.attempts],
           ["Submitted", when(task.created_at)], ["Started", when(task.started_at)], ["Ended", when(task.completed_at)],
           ["Tokens", tokens]]),
    h("section", { "aria-labelledby": "plan-title" }, h("h2", { id: "plan-title" }, "Plan"),
      task.plan ? [facts([["Understanding", task.plan.understanding], ["Approach", task.plan.approach],
                          ["Complexity", task.plan.complexity], ["Estimated steps", task.plan.estimated_steps],
                          ["Tools", (task.plan.requirements || []).join(", ")]])] : h("p", {}, "Not planned yet.")),
    h("section", { "aria-labelledby": "timeline-title" }, h("h2", { id: "timeline-title" }, "Timeline"),
      steps.length ? h("div", { class: "scroll" }, timeline(task)) : h("p", {}, "No steps yet.")),
    h("section", { "aria-labelledby": "steps-title" }, h("h2", { id: "steps-title" }, `Steps (${steps.length})`), steps.map(stepView)),
    h("section", { "aria-labelledby": "result-title" }, h("h2", { id: "result-title" }, "Result"), resultView(task)),
    callbackView(task),
    task.metadata ? h("section", {}, h("h2", {}, "Metadata"), json(task.metadata)) : null,
  ];
}

export async function taskPage(main, { id, can }) {
  const path = `/api/v1/tasks/${encodeURIComponent(id)}`;
  const controller = new AbortController();
  let task = await get(path);
  const outcome = h("span", { role: "status", id: "action-outcome" });
  const cancel = h("button", { type: "button", id: "cancel-task", class: "danger" }, "Cancel");
  const rerun = h("button", { type: "button", id: "rerun-task" }, "Re-run");
  const actions = h("p", { class: "actions" }, cancel, " ", rerun, " ", outcome);
  cancel.addEventListener("click", async () => {
    try {
      task = await del(path);
      outcome.textContent = task.status === "cancelled" ? "Cancelled." : "Cancellation requested.";
      draw();
    } catch (error) { outcome.textContent = error.message; }
  });
  rerun.addEventListener("click", async () => {
    const request = { task: task.task, priority: task.priority };
    if (task.metadata) request.metadata = task.metadata;
    if (task.context) request.context = task.context;
    try {
      const made = await post("/api/v1/tasks", request);
      location.hash = `#/task/${encodeURIComponent(made.task_id)}`;
    } catch (error) { outcome.textContent = error.message; }
  });
  const draw = () => {
    cancel.hidden = TERMINAL.includes(task.status);
    const open = new Set([...main.querySelectorAll("details.step[open]")].map((d) => d.querySelector("summary").textContent));
    show(main, view(task, can, actions));
    main.querySelectorAll("details.step").forEach((d) => { if (open.has(d.querySelector("summary").textContent)) d.open = true; });
  };
  draw();

  // Live: every event means the task changed; read it again (at most a few times a second).
  let pending = null;
  const reload = () => {
    if (pending) return;
    pending = setTimeout(async () => {
      pending = null;
      try { task = await get(path); draw(); } catch (_) { /* the next event or poll tries again */ }
    }, 150);
  };
  (async () => {
    let last = null;
    while (!controller.signal.aborted && !TERMINAL.includes(task.status)) {
      try {
        await followEvents(id, last, (event) => { last = event.id; reload(); }, controller.signal);
      } catch (_) {
        if (controller.signal.aborted) return;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000)); // the stream ended: resume
      try { task = await get(path); draw(); } catch (_) { /* try again */ }
    }
  })();
  return () => { controller.abort(); clearTimeout(pending); };
}
