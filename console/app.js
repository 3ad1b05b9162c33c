// The console: hash routes (#/tasks, #/task/ID, #/submit, #/batches, #/batch/ID, #/overview,
// #/config), each a page module that renders into <main> and may return a function that stops
// what it started (polling, an event stream) when the page is left.
import { forgetKey, get, storedKey } from "./api.js";
import { h, show } from "./dom.js";
import { batchPage, batchesPage } from "./batches.js";
import { configPage } from "./config.js";
import { overviewPage } from "./overview.js";
import { submitPage } from "./submit.js";
import { taskPage } from "./task.js";
import { tasksPage } from "./tasks.js";

const session = { scopes: [], owner: null, auth_required: false };
export const can = (scope) => session.scopes.includes(scope);

let leave = null; // the current page's stop function

export function notify(text, isError = false) {
  const notice = document.getElementById("notice");
  notice.textContent = text;
  notice.className = isError ? "error" : "";
}

// A part of the address, decoded; null when it cannot name a task or batch: a malformed escape
// (decodeURIComponent throws), or "." / ".." / one holding "/" once decoded, which nginx would
// resolve as a path (GET /api/v1/tasks/..%2Fconfig is GET /api/v1/config): a link must not turn
// the task page into a reader of another endpoint, or its Cancel into a DELETE elsewhere.
function part(text) {
  let decoded;
  try { decoded = decodeURIComponent(text); } catch (_) { return null; }
  return decoded === "." || decoded === ".." || decoded.includes("/") ? null : decoded;
}

function route() {
  const hash = location.hash.replace(/^#/, "") || "/tasks";
  const [path, query = ""] = hash.split("?");
  const parts = path.split("/").filter(Boolean).map(part);
  if (parts.includes(null)) return { page: null, params: new URLSearchParams() }; // Not found
  return { page: parts[0] || "tasks", id: parts[1], params: new URLSearchParams(query) };
}

const pages = {
  tasks: tasksPage, task: taskPage, submit: submitPage, batches: batchesPage, batch: batchPage,
  overview: overviewPage, config: configPage,
};

let generation = 0; // which navigation is the current one

// Each page draws into a container of its own: when the address changes again while a page is
// still loading, its container is already detached, so it cannot draw over the newer page, and
// what it started is stopped as soon as it returns.
async function render() {
  if (leave) leave();
  leave = null;
  const mine = ++generation;
  const main = document.getElementById("main");
  const container = h("div");
  main.replaceChildren(container);
  const { page, id, params } = route();
  const draw = Object.hasOwn(pages, page) ? pages[page] : null; // not #/constructor, #/toString
  document.querySelectorAll("header nav a").forEach((a) => {
    if (a.getAttribute("href") === location.hash) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
  if (!draw) {
    show(container, h("h1", {}, "Not found"), h("p", {}, "No such page."));
    return;
  }
  try {
    const stop = (await draw(container, { id, params, can })) || null;
    if (mine === generation) leave = stop;
    else if (stop) stop();
  } catch (error) {
    show(container, h("h1", {}, "Something went wrong"), h("p", { class: "error", role: "alert" }, error.message));
  }
}

async function loadSession() {
  const answer = await get("/api/v1/session");
  Object.assign(session, answer);
  document.body.dataset.scopes = session.scopes.join(" ");
  document.querySelectorAll("[data-needs]").forEach((element) => {
    element.hidden = !can(element.dataset.needs);
  });
  document.getElementById("who").textContent = session.auth_required
    ? `${session.owner} (${session.scopes.join(", ")})` : "authentication off";
  document.getElementById("forget-key").hidden = !storedKey();
}

async function start() {
  document.getElementById("forget-key").addEventListener("click", () => {
    forgetKey();
    location.reload();
  });
  await loadSession();
  window.addEventListener("hashchange", render);
  await render();
  document.body.dataset.ready = "true"; // for the tests: the first page is on screen
}

start().catch((error) => notify(error.message, true));
