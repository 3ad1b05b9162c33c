// Batches: the ones the recent tasks belong to, and one batch with its statistics and tasks.
import { get } from "./api.js";
import { badge, facts, h, show, when } from "./dom.js";

export async function batchesPage(main) {
  const form = h("form", { class: "filters" },
    h("label", {}, "Batch id ", h("input", { name: "id", id: "batch-id", required: true, size: 38 })),
    h("button", { type: "submit" }, "Open"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = `#/batch/${encodeURIComponent(new FormData(form).get("id").trim())}`;
  });
  // The batches of the newest 100 tasks: a page of the list, not a scan of the table.
  const page = await get("/api/v1/tasks?limit=100");
  const seen = new Map();
  for (const task of page.tasks) if (task.batch_id && !seen.has(task.batch_id)) seen.set(task.batch_id, task.created_at);
  show(main, h("h1", {}, "Batches"), form, h("h2", {}, "Recent batches"),
    seen.size ? h("ul", { id: "batch-list" }, [...seen].map(([id, at]) =>
      h("li", {}, h("a", { href: `#/batch/${encodeURIComponent(id)}` }, id), " — ", when(at))))
      : h("p", {}, "None among the newest tasks."));
  return null;
}

export async function batchPage(main, { id }) {
  const path = `/api/v1/batches/${encodeURIComponent(id)}`;
  const draw = (batch) => {
    const s = batch.statistics;
    show(main, h("h1", {}, "Batch ", h("code", {}, batch.batch_id), " ", badge(batch.status)),
      facts([["Mode", batch.mode], ["Continue on error", String(batch.continue_on_error)], ["Submitted", when(batch.created_at)],
             ["Tasks", s.total_tasks], ["Completed", s.completed_tasks], ["Failed", s.failed_tasks],
             ["Cancelled", s.cancelled_tasks], ["Running", s.running_tasks], ["Queued", s.queued_tasks],
             ["Total execution time", `${s.total_execution_time.toFixed(2)} s`],
             ["Average execution time", `${s.average_execution_time.toFixed(2)} s`]]),
      batch.callback ? facts([["Webhook", batch.callback.url], ["Webhook state", badge(batch.callback.state)]]) : null,
      h("h2", {}, "Tasks"),
      h("ol", { id: "batch-tasks" }, batch.tasks.map((t) =>
        h("li", {}, h("a", { href: `#/task/${encodeURIComponent(t.task_id)}` }, t.task_id), " ", badge(t.status)))));
  };
  draw(await get(path));
  const timer = setInterval(() => get(path).then(draw).catch(() => {}), 3000);
  return () => clearInterval(timer);
}
