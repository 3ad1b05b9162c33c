// The API, from the same origin. With service.require_api_key the key is asked once (the first
// 401), kept in sessionStorage only (gone with the tab; never in local storage or a cookie), and
// sent as Authorization: Bearer. EventSource cannot send that header, so the event stream is
// read with fetch() and a streaming reader.

const KEY = "task-runner-api-key";
let asking = null; // the pending key question, shared by every request that got a 401

export function storedKey() {
  return sessionStorage.getItem(KEY);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY);
}

// Resolves with a key the user typed (the dialog in index.html).
function askForKey(message) {
  if (asking) return asking;
  const dialog = document.getElementById("key-dialog");
  const form = document.getElementById("key-form");
  const input = document.getElementById("key-input");
  document.getElementById("key-error").textContent = message || "";
  asking = new Promise((resolve) => {
    // Escape closes a modal dialog; every request waiting for the key would then wait for ever
    // on a page with no way to give it but a reload. Without a key there is nothing to show, so
    // the question comes back.
    const closed = () => {
      dialog.showModal();
      input.focus();
    };
    const submitted = (event) => {
      event.preventDefault();
      const key = input.value.trim();
      if (!key) return;
      form.removeEventListener("submit", submitted);
      dialog.removeEventListener("close", closed);
      input.value = "";
      dialog.close();
      sessionStorage.setItem(KEY, key);
      asking = null;
      resolve(key);
    };
    form.addEventListener("submit", submitted);
    dialog.addEventListener("close", closed);
  });
  dialog.showModal();
  input.focus();
  return asking;
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function headers(extra = {}) {
  const key = storedKey();
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

async function errorOf(response) {
  try {
    const body = await response.json();
    if (body && body.error) return new ApiError(response.status, body.error.code, body.error.message);
  } catch (_) { /* not JSON: the status says it */ }
  return new ApiError(response.status, "HTTP_" + response.status, `HTTP ${response.status}`);
}

// A GET refused for now (429: over the rate limit; 502/503: the handlers are restarting) is
// asked again after the Retry-After the edge sends, a few times: otherwise a page whose first
// read met a 429 stayed on "Something went wrong" until it was reloaded. Nothing else is
// repeated (a POST or DELETE may have done its work).
const TRANSIENT = [429, 502, 503];
const RETRIES = 2;

function retryDelayMs(response) {
  const seconds = Number.parseInt(response.headers.get("Retry-After") || "1", 10);
  return Math.min(30, Math.max(1, Number.isFinite(seconds) ? seconds : 1)) * 1000;
}

// One request; asks for a key and retries on 401. Returns the parsed JSON body.
export async function api(method, path, body) {
  for (let retries = 0; ; ) {
    const init = { method, headers: headers(body === undefined ? {} : { "Content-Type": "application/json" }),
                   cache: "no-store", credentials: "omit" };
    if (body !== undefined) init.body = JSON.stringify(body);
    const response = await fetch(path, init);
    if (response.status === 401) {
      const error = await errorOf(response);
      forgetKey();
      await askForKey(error.message);
      continue;
    }
    if (method === "GET" && TRANSIENT.includes(response.status) && retries < RETRIES) {
      retries += 1;
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs(response)));
      continue;
    }
    if (!response.ok) throw await errorOf(response);
    return response.status === 204 ? null : response.json();
  }
}

export const get = (path) => api("GET", path);
export const post = (path, body) => api("POST", path, body);
export const del = (path) => api("DELETE", path);

// Follows a task's server-sent events, calling onEvent({id, event, data}) for each, until the
// stream ends or `signal` aborts. Resolves when it ends (the caller decides whether to go on).
export async function followEvents(taskId, lastId, onEvent, signal) {
  let path = `/api/v1/tasks/${encodeURIComponent(taskId)}/events`;
  if (lastId !== null && lastId !== undefined) path += `?last_event_id=${encodeURIComponent(lastId)}`;
  const response = await fetch(path, { headers: headers({ Accept: "text/event-stream" }), signal,
                                       cache: "no-store", credentials: "omit" });
  if (!response.ok) throw await errorOf(response);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = { id: null, event: "message", data: "" };
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue; // a keep-alive comment
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "id") event.id = text;
        else if (field === "event") event.event = text;
        else if (field === "data") event.data += text;
      }
      if (event.data) onEvent(event);
    }
  }
}
