// Building the page from data that is not ours (task text, model output, command output):
// every string becomes a text node, never markup. Nothing here parses HTML.

// h("tag", {attr: value, class: "x", on: {click: fn}}, child...): children are nodes or
// strings (text nodes); null and false are skipped; arrays are flattened.
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  setAttributes(element, attributes);
  append(element, children);
  return element;
}

const SVG = "http://www.w3.org/2000/svg";

export function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  setAttributes(element, attributes);
  append(element, children);
  return element;
}

function setAttributes(element, attributes) {
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "on") {
      for (const [event, handler] of Object.entries(value)) element.addEventListener(event, handler);
    } else if (name.startsWith("on")) {
      throw new Error(`event handlers go in "on", not attribute ${name}`); // no inline script
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// Replaces what `element` holds. Pages redraw every few seconds (and at each of a task's
// events): the keyboard's place is kept, on the same node when it is put back, else on the new
// one with the same id, the link to the same address or the step with the same summary; without
// this every redraw sent the focus back to the top of the page, and a keyboard user could never
// get down the list.
export function show(element, ...children) {
  const focused = document.activeElement;
  const inside = focused && focused !== element && element.contains(focused) ? focused : null;
  element.replaceChildren();
  append(element, children);
  if (inside && document.activeElement !== inside) refocus(element, inside);
}

function refocus(element, old) {
  let target = old.isConnected && element.contains(old) ? old : null;
  if (!target && old.id) target = document.getElementById(old.id);
  if (!target && old.tagName === "A" && old.getAttribute("href"))
    target = [...element.querySelectorAll("a[href]")].find((a) => a.getAttribute("href") === old.getAttribute("href"));
  if (!target && old.tagName === "SUMMARY") // a step of a task: its summary says which
    target = [...element.querySelectorAll("summary")].find((s) => s.textContent === old.textContent);
  if (target && element.contains(target)) target.focus({ preventScroll: true });
}

// A <dl> of [term, value] pairs; values may be nodes.
export function facts(pairs) {
  return h("dl", { class: "facts" },
    pairs.filter(([, value]) => value !== undefined).map(([term, value]) =>
      [h("dt", {}, term), h("dd", {}, value === null || value === "" ? "—" : value)]));
}

// Pretty JSON as text.
export function json(value) {
  return h("pre", { class: "json" }, JSON.stringify(value, null, 2));
}

export function when(time) {
  if (!time) return "—";
  const date = new Date(time);
  return h("time", { datetime: time, title: time }, date.toLocaleString());
}

export function badge(status) {
  return h("span", { class: `badge status-${String(status).replace(/[^a-z]/g, "")}` }, status);
}
