// Metric charts with uPlot: one metric of one or more runs, x by step or time, log
// y, log x (by step), EMA smoothing (raw curve faded), server-side downsampling that
// refetches full resolution for the zoomed range, PNG and CSV export.

import uPlot from "./vendor/uPlot.esm.js";
import { getJSON } from "./api.js";
import { download, h } from "./format.js";

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];
export const color = (i) => COLORS[i % COLORS.length];

function fade(hex, alpha) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

// TensorBoard's smoothing: an exponential moving average, debiased at the start.
export function ema(values, weight) {
  if (!(weight > 0)) return values;
  const out = new Array(values.length);
  let last = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined || !Number.isFinite(v)) {
      out[i] = null;
      continue;
    }
    last = last * weight + (1 - weight) * v;
    count++;
    out[i] = last / (1 - Math.pow(weight, count));
  }
  return out;
}

// options: {name, runs: [{id, label}], x: "step"|"time", log: bool, logx: bool (by
// step only; ignored by time), smooth: 0..0.999}
export function metricPlot(container, options) {
  let opts = { ...options };
  let fetched = null; // {runs: {id: {steps, values, timestamps, downsampled}}}
  let zoomed = null; // the data of a zoomed window, when refetched
  let chart = null;
  let zoomTimer = null;
  let destroyed = false;
  // Two points (a min and a max) per pixel column for a few runs; one for many, whose
  // curves overlap anyway.
  const maxPoints = () => {
    const width = Math.round(container.clientWidth || 800);
    return Math.max(400, Math.min(4000, opts.runs.length > 10 ? width : 2 * width));
  };

  const status = h("span", { class: "muted plot-status" });
  const box = h("div", { class: "plot-box" });
  const tools = h(
    "div",
    { class: "plot-tools" },
    h("strong", {}, opts.name),
    status,
    h("span", { class: "spacer" }),
    h("button", { class: "small", onclick: () => exportPNG() }, "PNG"),
    h("button", { class: "small", onclick: () => exportCSV() }, "CSV"),
  );
  const wrap = h("div", { class: "plot", dataset: { metric: opts.name } }, tools, box);
  container.append(wrap);

  async function fetchWindow(minStep, maxStep) {
    const ids = opts.runs.map((r) => r.id).join(",");
    return getJSON(`/api/metrics/${encodeURIComponent(opts.name)}`, {
      runs: ids,
      max_points: maxPoints(),
      min_step: minStep,
      max_step: maxStep,
    });
  }

  const logX = () => !!opts.logx && opts.x !== "time";

  function table(source) {
    // One [xs, ys] table per run, then aligned on the union of the x values.
    const tables = [];
    const present = [];
    opts.runs.forEach((run, i) => {
      const d = source.runs[String(run.id)];
      if (!d) return;
      let xs = opts.x === "time" ? d.timestamps : d.steps;
      let ys = d.values;
      if (logX()) {
        // A log x axis has no place for step 0 (or below): those points are left out.
        const keep = xs.map((x) => x > 0);
        xs = xs.filter((_, i) => keep[i]);
        ys = ys.filter((_, i) => keep[i]);
      }
      if (opts.log) ys = ys.map((v) => (v > 0 ? v : null));
      tables.push([xs, ys]);
      present.push(i);
    });
    if (!tables.length) return { data: [[]], present };
    const data = tables.length === 1 ? [tables[0][0], tables[0][1]] : uPlot.join(tables);
    return { data, present };
  }

  function build(source, resetScales) {
    const { data, present } = table(source);
    const smooth = Number(opts.smooth) || 0;
    const series = [{ label: opts.x === "time" ? "time" : "step" }];
    const columns = [data[0]];
    present.forEach((runIndex, k) => {
      const run = opts.runs[runIndex];
      const raw = data[k + 1];
      const c = color(runIndex);
      if (smooth > 0) {
        series.push({ label: `${run.label} (raw)`, stroke: fade(c, 0.25), width: 1, spanGaps: true });
        columns.push(raw);
        series.push({ label: run.label, stroke: c, width: 1.5, spanGaps: true });
        columns.push(ema(raw, smooth));
      } else {
        series.push({ label: run.label, stroke: c, width: 1.5, spanGaps: true });
        columns.push(raw);
      }
    });
    const points = Object.values(source.runs).reduce((n, d) => n + d.points, 0);
    const shown = Object.values(source.runs).reduce((n, d) => n + d.steps.length, 0);
    status.textContent = shown < points ? `${shown.toLocaleString()} of ${points.toLocaleString()} points (zoom for detail)` : `${points.toLocaleString()} points`;
    if (chart && !resetScales && chart.series.length === series.length) {
      chart.setData(columns, false);
      return;
    }
    if (chart) chart.destroy();
    const width = Math.max(300, box.clientWidth || container.clientWidth || 800);
    chart = new uPlot(
      {
        width,
        height: opts.height || 260,
        series,
        scales: { x: { time: opts.x === "time", distr: logX() ? 3 : 1 }, y: { distr: opts.log ? 3 : 1 } },
        axes: [{}, { size: 60 }],
        legend: { live: true },
        cursor: { bind: { dblclick: () => () => { resetZoom(); return null; } } },
        hooks: { setScale: [(u, key) => key === "x" && onZoom(u)] },
      },
      columns,
      box,
    );
    chart.root.dataset.series = String(series.length - 1);
  }

  function onZoom(u) {
    if (!fetched || !Object.values(fetched.runs).some((d) => d.downsampled || zoomed)) return;
    clearTimeout(zoomTimer);
    zoomTimer = setTimeout(async () => {
      let { min, max } = u.scales.x;
      if (opts.x === "time") [min, max] = timeToSteps(min, max);
      if (min === undefined) return;
      try {
        zoomed = await fetchWindow(min, max);
        if (!destroyed) build(zoomed, false);
      } catch (error) {
        status.textContent = error.message;
      }
    }, 150);
  }

  function timeToSteps(t0, t1) {
    let min;
    let max;
    for (const d of Object.values(fetched.runs)) {
      d.timestamps.forEach((t, i) => {
        if (t >= t0 && t <= t1) {
          min = min === undefined ? d.steps[i] : Math.min(min, d.steps[i]);
          max = max === undefined ? d.steps[i] : Math.max(max, d.steps[i]);
        }
      });
    }
    return [min, max];
  }

  function resetZoom() {
    zoomed = null;
    if (fetched) build(fetched, true);
  }

  async function load() {
    try {
      fetched = await fetchWindow();
      if (destroyed) return;
      zoomed = null;
      build(fetched, !chart);
      wrap.classList.add("drawn");
    } catch (error) {
      status.textContent = error.message;
    }
  }

  function exportPNG() {
    if (!chart) return;
    const canvas = chart.root.querySelector("canvas");
    const a = h("a", { href: canvas.toDataURL("image/png"), download: `${opts.name}.png` });
    document.body.append(a);
    a.click();
    a.remove();
  }

  function exportCSV() {
    if (!chart) return;
    const labels = chart.series.map((s) => `"${String(s.label).replace(/"/g, '""')}"`);
    const lines = [labels.join(",")];
    for (let i = 0; i < chart.data[0].length; i++) lines.push(chart.data.map((col) => col[i] ?? "").join(","));
    download(`${opts.name}.csv`, lines.join("\n") + "\n", "text/csv");
  }

  // Follow the page's width (uPlot draws at a fixed size).
  let resizeTimer = null;
  const onResize = () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => chart && chart.setSize({ width: Math.max(300, box.clientWidth), height: opts.height || 260 }), 100);
  };
  window.addEventListener("resize", onResize);

  load();
  return {
    element: wrap,
    get chart() {
      return chart;
    },
    update(changes) {
      const refetch = changes.runs && changes.runs !== opts.runs;
      opts = { ...opts, ...changes };
      if (refetch) return load();
      if (fetched) build(zoomed || fetched, true);
    },
    refresh: () => (zoomed ? Promise.resolve() : load()),
    destroy() {
      destroyed = true;
      clearTimeout(zoomTimer);
      clearTimeout(resizeTimer);
      window.removeEventListener("resize", onResize);
      if (chart) chart.destroy();
      wrap.remove();
    },
  };
}

// The chart controls shared by the detail and compare views; state goes to the URL.
export function plotControls(state, onChange) {
  const logX = h("input", { type: "checkbox", class: "log-x", checked: !!state.logx, disabled: state.x === "time", onchange: (e) => onChange({ logx: e.target.checked }) });
  return h(
    "div",
    { class: "plot-controls" },
    h("label", {}, "x ", h(
      "select",
      { class: "x-mode", onchange: (e) => { logX.disabled = e.target.value === "time"; onChange({ x: e.target.value }); } },
      h("option", { value: "step", selected: state.x !== "time" }, "step"),
      h("option", { value: "time", selected: state.x === "time" }, "time"),
    )),
    h("label", { title: "by step only: points at step 0 or below are left out" }, logX, " log x"),
    h("label", {}, h("input", { type: "checkbox", class: "log-y", checked: !!state.log, onchange: (e) => onChange({ log: e.target.checked }) }), " log y"),
    h("label", {}, "smoothing ", h("input", {
      type: "range", class: "smooth", min: 0, max: 0.99, step: 0.01, value: state.smooth || 0,
      oninput: (e) => onChange({ smooth: Number(e.target.value) }),
    })),
  );
}
