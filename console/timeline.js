// A task's steps as a waterfall in SVG: one bar a step, placed at its start and as long as it
// took, coloured by outcome, with its tokens; a running step reaches to now.
import { svg } from "./dom.js";

const ROW = 26;
const LABEL = 170;
const WIDTH = 720;

export function timeline(task) {
  const steps = task.steps || [];
  const now = Date.now();
  const spans = steps.map((step) => {
    const start = Date.parse(step.timestamp);
    const end = step.execution_time_ms !== null && step.execution_time_ms !== undefined
      ? start + step.execution_time_ms : (step.status === "running" ? now : start);
    return { step, start, end };
  });
  const origin = Math.min(...spans.map((s) => s.start), Date.parse(task.started_at || task.created_at));
  const finish = Math.max(origin + 1, ...spans.map((s) => s.end));
  const scale = (WIDTH - LABEL - 10) / (finish - origin);
  const height = ROW * steps.length + 30;
  const chart = svg("svg", { class: "timeline", viewBox: `0 0 ${WIDTH} ${height}`, role: "img",
                             "aria-label": `Timeline of ${steps.length} steps over ${((finish - origin) / 1000).toFixed(2)} s` });
  spans.forEach(({ step, start, end }, i) => {
    const y = i * ROW + 4;
    const x = LABEL + (start - origin) * scale;
    const width = Math.max(2, (end - start) * scale);
    const tokens = step.tokens ? ` · tokens ${step.tokens.input ?? 0} in / ${step.tokens.output ?? 0} out` : "";
    const took = step.execution_time_ms === null || step.execution_time_ms === undefined ? "running" : `${step.execution_time_ms} ms`;
    const label = `${step.step_number}. ${step.tool || step.step_type}`;
    chart.append(
      svg("text", { x: 4, y: y + 15, class: "step-label" }, label.length > 24 ? label.slice(0, 23) + "…" : label),
      svg("rect", { x: x.toFixed(1), y, width: width.toFixed(1), height: ROW - 8, rx: 3,
                    class: `step-bar outcome-${String(step.status).replace(/[^a-z]/g, "")}`,
                    "data-step": step.step_number },
        svg("title", {}, `${label}: ${step.status}, +${start - origin} ms, ${took}${tokens}`)));
  });
  const axis = ROW * steps.length + 20;
  chart.append(svg("text", { x: LABEL, y: axis, class: "axis" }, "0 s"),
    svg("text", { x: WIDTH - 10, y: axis, class: "axis end" }, `${((finish - origin) / 1000).toFixed(2)} s`));
  return chart;
}
