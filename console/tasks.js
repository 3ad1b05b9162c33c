// The task list: filters (status, priority, batch, since) kept in the URL, keyset pages
// (next_cursor), refreshed every few seconds while the first page is shown, and cancelling every
// queued task that matches the filter.
import { get, post } from "./api.js";
import { badge, h, show, when } from "./dom.js";

const STATUSES = ["", "queued", "running", "completed", "failed", "cancelled", "timeout"];
const PRIORITIES = ["", "low", "normal", "high", "critical"];
const REFRESH_MS = 2000;

function select(name, label, choices, value) {
  return h("label", {}, label, " ",
    h("select", { name, id: `filter-${name}` },
      choices.map((choice) => h("option", { value: choice, selected: choice === value }, choice || "any"))));
}

function query(params) {
  const wanted = new URLSearchParams();
  for (const name of ["status", "priority", "batch_id", "since"])
    if (params.get(name)) wanted.set(name, params.get(name));
  return wanted;
}

function sinceValue(text) {
  // <input type="datetime-local"> is local time without a zone; the API takes RFC 3339.
  return text ? new Date(text).toISOString() : "";
}

// The other way, for the field to show the filter in the address: else it was empty, and the
// next Filter (another priority, say) silently dropped the since.
function localValue(iso) {
  const date = iso ? new Date(iso) : null;
  if (!date || Number.isNaN(date.getTime())) return "";
  const two = (n) => String(n).padStart(2, "0");
  return `${String(date.getFullYear()).padStart(4, "0")}-${two(date.getMonth() + 1)}-${two(date.getDate())}` +
    `T${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

function row(task) {
  return h("tr", {},
    h("td", {}, h("a", { href: `#/task/${encodeURIComponent(task.task_id)}` }, task.task_id)),
    h("td", {}, badge(task.status)),
    h("td", {}, task.priority),
    h("td", { class: "text" }, task.task),
    h("td", {}, task.batch_id ? h("a", { href: `#/batch/${encodeURIComponent(task.batch_id)}` }, "batch") : "—"),
    h("td", {}, when(task.created_at)));
}

export async function tasksPage(main, { params, can }) {
  const filters = query(params);
  const cursor = params.get("cursor");
  const form = h("form", { class: "filters", id: "filters", "aria-label": "Filters" },
    select("status", "Status", STATUSES, filters.get("status") || ""),
    select("priority", "Priority", PRIORITIES, filters.get("priority") || ""),
    h("label", {}, "Batch ", h("input", { name: "batch_id", id: "filter-batch", value: filters.get("batch_id") || "", size: 20 })),
    h("label", {}, "Since ", h("input", { name: "since", id: "filter-since", type: "datetime-local", step: 1,
                                 value: localValue(filters.get("since")) })),
    h("button", { type: "submit" }, "Filter"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const next = new URLSearchParams();
    for (const name of ["status", "priority", "batch_id"]) if (data.get(name)) next.set(name, data.get(name));
    if (data.get("since")) next.set("since", sinceValue(data.get("since")));
    location.hash = `#/tasks?${next}`;
  });

  const body = h("tbody", { id: "task-rows" });
  const table = h("table", { class: "tasks" },
    h("caption", {}, filters.get("status") === "failed" ? "Failed tasks" : "Tasks, newest first"),
    h("thead", {}, h("tr", {}, ["Task", "Status", "Priority", "Text", "Batch", "Submitted"].map((t) => h("th", { scope: "col" }, t)))),
    body);
  const pager = h("p", { class: "pager" });
  const outcome = h("p", { id: "bulk-outcome", role: "status" });
  // Only where the list is of queued tasks (or of any status): on the Failed view, "cancel every
  // queued task matching this filter" cancelled every queued task, since none is failed.
  const queuedInView = !filters.get("status") || filters.get("status") === "queued";
  const actions = can("submit") && queuedInView ? h("p", { class: "actions" },
    h("button", { type: "button", id: "cancel-matching", class: "danger", on: { click: cancelMatching } },
      "Cancel every queued task matching this filter"), " ", outcome) : null;

  async function cancelMatching() {
    const filter = { status: "queued" };
    for (const name of ["priority", "batch_id", "since"]) if (filters.get(name)) filter[name] = filters.get(name);
    if (!confirm(`Cancel every queued task matching ${JSON.stringify(filter)}?`)) return;
    try { // a refusal (429, 403...) is said where the answer would be, not dropped unseen
      const answer = await post("/api/v1/tasks/cancel", filter);
      outcome.textContent = `${answer.cancelled} cancelled.`;
    } catch (error) {
      outcome.textContent = error.message;
      return;
    }
    await refresh().catch(() => {}); // the next refresh tries again
  }

  async function refresh() {
    const page = new URLSearchParams(filters);
    page.set("limit", "25");
    if (cursor) page.set("cursor", cursor);
    const answer = await get(`/api/v1/tasks?${page}`);
    show(body, answer.tasks.length ? answer.tasks.map(row) : h("tr", {}, h("td", { colspan: 6 }, "No tasks.")));
    const links = [];
    if (cursor) links.push(h("a", { href: `#/tasks?${filters}` }, "Newest"));
    if (answer.next_cursor) {
      const next = new URLSearchParams(filters);
      next.set("cursor", answer.next_cursor);
      links.push(h("a", { href: `#/tasks?${next}`, id: "next-page" }, "Older →"));
    }
    show(pager, links.flatMap((link, i) => (i ? [" ", link] : [link])));
  }

  show(main, h("h1", {}, filters.get("status") === "failed" ? "Failed tasks" : "Tasks"), form, actions,
    h("div", { class: "scroll" }, table), pager);
  await refresh();
  if (cursor) return null; // an older page stays as it was read
  const timer = setInterval(() => refresh().catch(() => {}), REFRESH_MS); // live: the newest page
  return () => clearInterval(timer);
}
