// The service: queue depth and counts, the runners with their heartbeats and sandbox, and the
// last hour of the queue as a chart (GET /api/v1/metrics/history), refreshed every few seconds.
import { get } from "./api.js";
import { facts, h, show, svg, when } from "./dom.js";

const WIDTH = 720;
const HEIGHT = 200;
const PAD = 30;

// Bars: tasks finished a minute (throughput); line: queue depth at each minute's end.
export function historyChart(history) {
  const minutes = history.minutes;
  const top = Math.max(1, ...minutes.map((m) => Math.max(m.queue_depth, m.finished, m.submitted)));
  const step = (WIDTH - 2 * PAD) / minutes.length;
  const y = (value) => HEIGHT - PAD - (value / top) * (HEIGHT - 2 * PAD);
  const chart = svg("svg", { class: "history", viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img",
                             "aria-label": `Last hour: ${minutes.reduce((n, m) => n + m.finished, 0)} tasks finished, queue depth now ${history.queue_depth}` });
  chart.append(svg("line", { x1: PAD, y1: HEIGHT - PAD, x2: WIDTH - PAD, y2: HEIGHT - PAD, class: "axis-line" }));
  minutes.forEach((m, i) => {
    const height = HEIGHT - PAD - y(m.finished);
    chart.append(svg("rect", { x: (PAD + i * step + 1).toFixed(1), y: y(m.finished).toFixed(1), width: Math.max(1, step - 2).toFixed(1),
                               height: height.toFixed(1), class: "throughput-bar" },
      svg("title", {}, `${m.minute}: ${m.submitted} submitted, ${m.started} started, ${m.finished} finished, ${m.queue_depth} queued`)));
  });
  const points = minutes.map((m, i) => `${(PAD + (i + 0.5) * step).toFixed(1)},${y(m.queue_depth).toFixed(1)}`).join(" ");
  chart.append(svg("polyline", { points, class: "depth-line" }),
    svg("text", { x: PAD, y: PAD - 10, class: "axis" }, `max ${top}`),
    svg("text", { x: PAD, y: HEIGHT - 8, class: "axis" }, "−60 min"),
    svg("text", { x: WIDTH - PAD, y: HEIGHT - 8, class: "axis end" }, "now"));
  return chart;
}

function runnerRow(runner) {
  return h("tr", {},
    h("td", {}, h("code", {}, runner.id)), h("td", {}, runner.hostname), h("td", {}, runner.pid),
    h("td", {}, `${runner.active_tasks} / ${runner.max_concurrent_tasks}`),
    h("td", {}, runner.sandbox ?? "—"), h("td", {}, runner.network ?? "—"), h("td", {}, runner.cgroups ?? "—"),
    h("td", {}, when(runner.heartbeat_at)), h("td", {}, when(runner.started_at)));
}

export async function overviewPage(main) {
  const draw = (status, history) => {
    const counts = status.tasks;
    show(main, h("h1", {}, "Runners and queue"),
      facts([["Version", status.version], ["Uptime", `${status.uptime_seconds} s`], ["Queue depth", status.queue_depth],
             ["Running", counts.running], ["Completed", counts.completed], ["Failed", counts.failed],
             ["Cancelled", counts.cancelled], ["Timed out", counts.timeout], ["Sandbox", status.sandbox],
             ["Model", status.model && status.model.resolved ? `${status.model.resolved.provider} ${status.model.resolved.model}` : null]]),
      h("h2", {}, "The last hour"),
      h("p", {}, "Bars: tasks finished a minute. Line: tasks queued at the end of each minute."),
      h("div", { class: "scroll" }, historyChart(history)),
      h("h2", {}, `Runners (${status.runners.alive} alive)`),
      h("div", { class: "scroll" }, h("table", { id: "runners" },
        h("thead", {}, h("tr", {}, ["Id", "Host", "PID", "Tasks", "Sandbox", "Network", "Cgroups", "Heartbeat", "Started"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, status.runners.list.map(runnerRow)))),
      h("h2", {}, "Component restarts"),
      facts(Object.entries(status.components || {}).map(([name, c]) => [name, `${c.restarts} restarts${c.last_exit ? ", last: " + c.last_exit : ""}`])));
  };
  const load = async () => draw(...(await Promise.all([get("/api/v1/status"), get("/api/v1/metrics/history")])));
  await load();
  const timer = setInterval(() => load().catch(() => {}), 5000);
  return () => clearInterval(timer);
}
