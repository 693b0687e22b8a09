// Line diffs (captured output, sources) and parallel coordinates for the compare view.

import { filePath, getJSON, runPath } from "./api.js";
import { fill, flatten, formatValue, h } from "./format.js";

const MAX_CELLS = 4_000_000; // lines(a) x lines(b) beyond which the diff is not computed

// The longest common subsequence of lines, as [" "|"-"|"+", line] entries.
export function diffLines(a, b) {
  const x = a.split("\n");
  const y = b.split("\n");
  if (x.length * y.length > MAX_CELLS) return null;
  const n = x.length;
  const m = y.length;
  const table = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      table[i][j] = x[i] === y[j] ? table[i + 1][j + 1] + 1 : Math.max(table[i + 1][j], table[i][j + 1]);
    }
  }
  const out = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) out.push([" ", x[i++]]), j++;
    else if (table[i + 1][j] >= table[i][j + 1]) out.push(["-", x[i++]]);
    else out.push(["+", y[j++]]);
  }
  while (i < n) out.push(["-", x[i++]]);
  while (j < m) out.push(["+", y[j++]]);
  return out;
}

function renderDiff(title, a, b) {
  if (a === b) return h("div", { class: "diff-block same" }, h("h4", {}, title), h("span", { class: "muted" }, "identical"));
  const lines = diffLines(a, b);
  const body = lines
    ? lines.map(([mark, text]) => h("span", { class: `d${mark === " " ? "same" : mark === "-" ? "del" : "add"}` }, `${mark} ${text}\n`))
    : "Too long to compare line by line.";
  return h("div", { class: "diff-block" }, h("h4", {}, title), h("pre", { class: "line-diff" }, body));
}

// Captured output and sources of two runs, diffed; the runs are chosen with selects.
export function outputDiff(ids) {
  const state = { a: ids[0], b: ids[1] };
  const box = h("div", { class: "diffs" });
  const pick = (key) =>
    h("select", { class: `diff-${key}`, onchange: (e) => { state[key] = e.target.value; load(); } },
      ids.map((id) => h("option", { value: id, selected: state[key] === id }, `run ${id}`)));
  async function text(url) {
    const response = await fetch(url);
    return response.ok ? response.text() : "";
  }
  async function load() {
    const [ra, rb] = await Promise.all([getJSON(runPath(state.a)), getJSON(runPath(state.b))]);
    const names = [...new Set([...(ra.sources || []), ...(rb.sources || [])])].sort();
    const sources = await Promise.all(
      names.map(async (name) => [
        name,
        ra.sources.includes(name) ? await text(filePath(ra.id, "sources", name)) : "",
        rb.sources.includes(name) ? await text(filePath(rb.id, "sources", name)) : "",
      ]),
    );
    fill(box, renderDiff("Captured output", ra.captured_out || "", rb.captured_out || ""), sources.map(([name, a, b]) => renderDiff(`Source ${name}`, a, b)));
  }
  load();
  return h("div", {}, h("div", { class: "plot-line" }, pick("a"), " → ", pick("b")), box);
}

// Parallel coordinates: one axis per numeric config entry that differs, and the
// result; one line per run in its colour.
export function parallelCoordinates(runs, color) {
  const flat = runs.map((r) => ({ ...flatten(r.config || {}, "config"), result: r.result }));
  const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))]
    .filter((k) => flat.every((f) => typeof f[k] === "number" || f[k] === undefined || f[k] === null))
    .filter((k) => k === "result" || new Set(flat.map((f) => f[k])).size > 1)
    .sort((a, b) => (a === "result") - (b === "result") || a.localeCompare(b));
  if (keys.length < 2) return h("p", { class: "muted" }, "Fewer than two numeric entries differ.");
  const width = 900;
  const height = 260;
  const pad = 30;
  const xs = keys.map((_, i) => pad + (i * (width - 2 * pad)) / (keys.length - 1));
  const ranges = keys.map((k) => {
    const values = flat.map((f) => f[k]).filter((v) => typeof v === "number");
    return [Math.min(...values), Math.max(...values)];
  });
  const y = (k, v) => {
    const [lo, hi] = ranges[k];
    return height - pad - (hi === lo ? 0.5 : (v - lo) / (hi - lo)) * (height - 2 * pad);
  };
  const NS = "http://www.w3.org/2000/svg"; // the SVG namespace's name, never fetched
  const svg = (tag, attrs, ...kids) => {
    const el = document.createElementNS(NS, tag);
    for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, value);
    el.append(...kids);
    return el;
  };
  const root = svg("svg", { class: "parallel", viewBox: `0 0 ${width} ${height}`, width: "100%" });
  keys.forEach((k, i) => {
    root.append(svg("line", { x1: xs[i], x2: xs[i], y1: pad, y2: height - pad, stroke: "#999" }));
    root.append(svg("text", { x: xs[i], y: pad - 10, "text-anchor": "middle", "font-size": 11 }, k.replace(/^config\./, "")));
    root.append(svg("text", { x: xs[i], y: height - pad + 14, "text-anchor": "middle", "font-size": 10, fill: "#666" }, formatValue(ranges[i][0])));
    root.append(svg("text", { x: xs[i], y: pad + 2, "text-anchor": "end", dx: -4, "font-size": 10, fill: "#666" }, formatValue(ranges[i][1])));
  });
  flat.forEach((f, r) => {
    const points = keys.map((k, i) => (typeof f[k] === "number" ? `${xs[i]},${y(i, f[k])}` : null)).filter(Boolean);
    root.append(svg("polyline", { points: points.join(" "), fill: "none", stroke: color(r), "stroke-width": 2, "data-run": String(runs[r].id) }));
  });
  return root;
}
