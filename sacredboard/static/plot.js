// Metric charts with uPlot: one or more metrics of one or more runs, x by step or time, log
// y, log x (by step), EMA smoothing (raw curve faded), server-side downsampling that
// refetches full resolution for the zoomed range, PNG and CSV export.

import uPlot from "./vendor/uPlot.esm.js";
import { getJSON } from "./api.js";
import { download, formatNumber, formatTime, h, themeColor } from "./format.js";

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

// The value a legend shows for a series: the value under the cursor, or (for a run
// without a point at that x) its nearest earlier point; with the cursor off the chart,
// its last point. Never uPlot's "--".
export function legendValue(u, value, seriesIndex, index) {
  const ys = u.data[seriesIndex];
  let i = index === null || index === undefined ? ys.length - 1 : index;
  let v = index === null || index === undefined ? null : value;
  while ((v === null || v === undefined) && i >= 0) v = ys[i--];
  return v === null || v === undefined ? "" : formatNumber(v, 5);
}

export function xLegendValue(time) {
  return (u, value, seriesIndex, index) => {
    const xs = u.data[0];
    const v = index === null || index === undefined ? xs[xs.length - 1] : value;
    if (v === null || v === undefined) return "";
    if (time) return formatTime(new Date(v * 1000).toISOString());
    return formatNumber(v, 8);
  };
}

// options: {name (the chart's title), runs: [{id, label}], metrics: [names] (default
// [name]: several metrics in one chart, e.g. train and validation loss), x: "step" |
// "time", log: bool, logx: bool (by step only; ignored by time), smooth: 0..0.999,
// height, compact (a small chart of a grid: no export buttons)}
export function metricPlot(container, options) {
  let opts = { ...options };
  let fetched = null; // {metric: {runs: {id: {steps, values, timestamps, downsampled}}}}
  let zoomed = null; // the data of a zoomed window, when refetched
  let chart = null;
  let fullX = null; // the x range of the whole data, to tell a zoom from a live update
  let settingData = false;
  let zoomTimer = null;
  let destroyed = false;
  const metricNames = () => (opts.metrics && opts.metrics.length ? opts.metrics : [opts.name]);
  // One line per (metric, run); labelled by what varies.
  const lines = () => {
    const names = metricNames();
    const out = [];
    for (const metric of names) {
      for (const run of opts.runs) {
        const label = names.length === 1 ? run.label : opts.runs.length === 1 ? metric : `${run.label} · ${metric}`;
        out.push({ id: String(run.id), metric, label });
      }
    }
    return out;
  };
  // Two points (a min and a max) per pixel column for a few runs; one for many, whose
  // curves overlap anyway.
  const maxPoints = () => {
    const width = Math.round(container.clientWidth || 800);
    return Math.max(400, Math.min(4000, lines().length > 10 ? width : 2 * width));
  };

  const status = h("span", { class: "muted plot-status" });
  const box = h("div", { class: "plot-box" });
  const tools = h(
    "div",
    { class: "plot-tools" },
    h("strong", {}, opts.title || metricNames().join(" · ")),
    status,
    h("span", { class: "spacer" }),
    !opts.compact && h("button", { class: "small", onclick: () => exportPNG() }, "PNG"),
    !opts.compact && h("button", { class: "small", onclick: () => exportCSV() }, "CSV"),
  );
  const wrap = h("div", { class: `plot${opts.compact ? " compact" : ""}`, dataset: { metric: metricNames().join(",") } }, tools, box);
  container.append(wrap);

  async function fetchWindow(minStep, maxStep) {
    const ids = opts.runs.map((r) => r.id).join(",");
    const names = metricNames();
    const answers = await Promise.all(
      names.map((name) =>
        getJSON(`/api/metrics/${encodeURIComponent(name)}`, {
          runs: ids,
          max_points: maxPoints(),
          min_step: minStep,
          max_step: maxStep,
        }),
      ),
    );
    return Object.fromEntries(names.map((name, i) => [name, answers[i]]));
  }

  const logX = () => !!opts.logx && opts.x !== "time";
  const allData = (source) => Object.values(source).flatMap((answer) => Object.values(answer.runs));

  function table(source) {
    // One [xs, ys] table per line, then aligned on the union of the x values.
    const tables = [];
    const present = [];
    lines().forEach((line, i) => {
      const d = (source[line.metric] || { runs: {} }).runs[line.id];
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

  function axis(extra = {}) {
    const grid = themeColor("grid");
    return { stroke: themeColor("axis"), grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, ...extra };
  }

  function build(source, resetScales) {
    const { data, present } = table(source);
    const all = lines();
    const smooth = Number(opts.smooth) || 0;
    const series = [{ label: opts.x === "time" ? "time" : "step", value: xLegendValue(opts.x === "time") }];
    const columns = [data[0]];
    present.forEach((lineIndex, k) => {
      const line = all[lineIndex];
      const raw = data[k + 1];
      const c = color(lineIndex);
      if (smooth > 0) {
        series.push({ label: `${line.label} (raw)`, stroke: fade(c, 0.25), width: 1, spanGaps: true, value: legendValue });
        columns.push(raw);
        series.push({ label: line.label, stroke: c, width: 1.5, spanGaps: true, value: legendValue });
        columns.push(ema(raw, smooth));
      } else {
        series.push({ label: line.label, stroke: c, width: 1.5, spanGaps: true, value: legendValue });
        columns.push(raw);
      }
    });
    const points = allData(source).reduce((n, d) => n + d.points, 0);
    const shown = allData(source).reduce((n, d) => n + d.steps.length, 0);
    status.textContent = shown < points ? `${shown.toLocaleString()} of ${points.toLocaleString()} points (zoom for detail)` : `${points.toLocaleString()} points`;
    const xs = columns[0];
    const range = xs.length ? [xs[0], xs[xs.length - 1]] : null;
    if (chart && !resetScales && chart.series.length === series.length) {
      // A live update: the axes follow the new points unless the user zoomed in.
      const follow = !userZoomed(chart);
      if (source === fetched) fullX = range;
      settingData = true;
      try {
        chart.setData(columns, follow);
      } finally {
        settingData = false;
      }
      return;
    }
    if (source === fetched) fullX = range;
    if (chart) chart.destroy();
    const width = Math.max(240, box.clientWidth || container.clientWidth || 800);
    settingData = true;
    try {
      chart = new uPlot(
        {
          width,
          height: opts.height || 260,
          series,
          scales: { x: { time: opts.x === "time", distr: logX() ? 3 : 1 }, y: { distr: opts.log ? 3 : 1 } },
          axes: [axis(), axis({ size: 60, values: (u, splits) => splits.map((v) => (v === null ? "" : formatNumber(v, 4))) })],
          legend: { live: true },
          cursor: { bind: { dblclick: () => () => { resetZoom(); return null; } } },
          hooks: { setScale: [(u, key) => key === "x" && onZoom(u), showRange] },
        },
        columns,
        box,
      );
    } finally {
      settingData = false;
    }
    chart.root.dataset.series = String(series.length - 1);
  }

  // The axes' current ranges on the chart's element (tests and benchmarks read them).
  function showRange(u, key) {
    const { min, max } = u.scales[key] || {};
    if (key === "x" || key === "y") wrap.dataset[`${key}Range`] = `${formatNumber(min, 6)},${formatNumber(max, 6)}`;
  }

  // Whether the x axis shows less than the whole data (the user dragged a zoom).
  function userZoomed(u) {
    if (zoomed) return true;
    if (!fullX) return false;
    const { min, max } = u.scales.x;
    const eps = Math.abs(fullX[1] - fullX[0]) * 1e-9;
    return min > fullX[0] + eps || max < fullX[1] - eps;
  }

  function onZoom(u) {
    if (settingData || !fetched) return;
    if (!allData(fetched).some((d) => d.downsampled) && !zoomed) return;
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
    for (const d of allData(fetched)) {
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
      const fresh = await fetchWindow();
      if (destroyed) return;
      fetched = fresh;
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
    const a = h("a", { href: canvas.toDataURL("image/png"), download: `${metricNames().join("+")}.png` });
    document.body.append(a);
    a.click();
    a.remove();
  }

  function exportCSV() {
    if (!chart) return;
    const labels = chart.series.map((s) => `"${String(s.label).replace(/"/g, '""')}"`);
    const rows = [labels.join(",")];
    for (let i = 0; i < chart.data[0].length; i++) rows.push(chart.data.map((col) => col[i] ?? "").join(","));
    download(`${metricNames().join("+")}.csv`, rows.join("\n") + "\n", "text/csv");
  }

  // Follow the page's width (uPlot draws at a fixed size).
  let resizeTimer = null;
  const onResize = () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => chart && chart.setSize({ width: Math.max(240, box.clientWidth), height: opts.height || 260 }), 100);
  };
  window.addEventListener("resize", onResize);

  load();
  return {
    element: wrap,
    get chart() {
      return chart;
    },
    update(changes) {
      const refetch = (changes.runs && changes.runs !== opts.runs) || (changes.metrics && changes.metrics !== opts.metrics);
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
