// Parallel coordinates over every run the filter matches: an axis per configuration
// entry that varies (the seed left out unless asked for) and the colour path (the
// result by default); numeric axes (log when the values span more than two decades,
// switchable with a click on the label) and categorical ones. Dragging along an axis
// brushes it: the lines outside fade at once (in the page), and the brush becomes a
// condition of the table's query and of the URL. Drawn on a canvas, one stroke per
// colour.

import { getJSON } from "./api.js";
import { canvasEvents, sizedContext } from "./canvasview.js";
import { fill, formatValue, h, themeColor } from "./format.js";
import { categoryScale, colorBy, numberScale, shortLabel, spansDecades, valuePath } from "./scales.js";

const HEIGHT = 380;
const PAD = { left: 56, right: 56, top: 46, bottom: 26 };
const MAX_AXES = 12;

// explore: {query(), brushes, setBrushes(list), state: {axes: [paths], log: {path:
// bool}, color, seed}, save(), keys}
export function parallelView(container, explore) {
  const state = explore.state;
  let data = null; // {ids, paths, values: {path: [...]}, kinds, missing}
  let axes = []; // [{path, kind, scale, t: Float32Array}]
  let colorPath = "";
  let destroyed = false;
  let generation = 0;
  let shownBrushes = [];

  const canvas = h("canvas", { class: "parallel-canvas" });
  const labels = h("div", { class: "parallel-labels" });
  const brushBox = h("div", { class: "parallel-brush", hidden: true });
  const wrap = h("div", { class: "parallel-wrap" }, canvas, labels, brushBox);
  const status = h("span", { class: "muted parallel-status" });
  const legend = h("div", { class: "scatter-legend" });
  const axesInput = h("input", {
    class: "parallel-axes",
    placeholder: "axes: the entries that vary",
    value: (state.axes || []).join(", "),
    title: "Paths of the axes, comma separated; empty: the configuration entries that vary",
    onchange: (e) => {
      state.axes = e.target.value.split(",").map((s) => s.trim()).filter(Boolean);
      explore.save();
      load();
    },
  });
  const colorInput = h("input", {
    class: "parallel-color",
    list: explore.keys,
    placeholder: "result",
    value: state.color || "",
    title: "Colour the lines by this path: the result or a metric summary (metrics.loss.min)",
    onchange: (e) => {
      state.color = e.target.value.trim();
      explore.save();
      load();
    },
  });
  const seedBox = h("input", { type: "checkbox", class: "parallel-seed", checked: !!state.seed, onchange: (e) => { state.seed = e.target.checked; explore.save(); load(); } });
  const root = h(
    "div",
    { class: "parallel" },
    explore.data
      ? h("div", { class: "plot-line" }, status)
      : h("div", { class: "plot-line" }, h("label", {}, "axes ", axesInput), h("label", {}, seedBox, " seed"), h("label", {}, "colour ", colorInput), status),
    wrap,
    legend,
    h("p", { class: "muted small-print" }, `Drag along an axis to brush it (${explore.data ? "the lines outside fade" : "the table shows the runs inside every brush"}); click an axis to clear its brush, click a numeric axis's name to switch between a linear and a log scale.`),
  );
  container.append(root);

  // The data: {ids, paths (the last one colours the lines), values: {path: [...]},
  // kinds: {path: "number" | "category"}, missing}; from the API, or given by the
  // page (a study's trials).
  async function fetchData() {
    let paths = (state.axes || []).map(valuePath).filter(Boolean);
    colorPath = valuePath(state.color || "result");
    if (!paths.length) {
      const varying = await getJSON("/api/varying", { filter: explore.query() });
      paths = varying.keys.filter((k) => state.seed || !k.seed).map((k) => k.path).slice(0, MAX_AXES);
    }
    paths = [...paths.filter((p) => p !== colorPath), colorPath];
    return getJSON("/api/points", { paths: paths.join(","), filter: explore.query() });
  }

  async function load() {
    const mine = ++generation;
    status.textContent = "loading…";
    try {
      const answer = await (explore.data ? explore.data() : fetchData());
      if (destroyed || mine !== generation) return;
      data = answer;
      colorPath = data.paths[data.paths.length - 1];
      if (!data.paths.length) {
        status.textContent = "Nothing varies among these runs.";
        return;
      }
      build();
      draw();
    } catch (error) {
      if (mine !== generation) return;
      status.textContent = error.message;
    }
  }

  function build() {
    const n = data.ids.length;
    axes = data.paths.map((path) => {
      const values = data.values[path];
      const kind = data.kinds[path];
      const override = (state.log || {})[path];
      const log = kind === "number" && (override === undefined ? spansDecades(values) : !!override && values.every((v) => v > 0));
      const scale = kind === "number" ? numberScale(values, log) : categoryScale(values);
      const t = new Float32Array(n);
      for (let i = 0; i < n; i++) t[i] = scale.at(values[i]);
      return { path, kind, scale, t, values };
    });
  }

  // Which runs pass every brush on a shown axis (the others fade).
  function passing() {
    const n = data.ids.length;
    const pass = new Uint8Array(n).fill(1);
    shownBrushes = [];
    for (const brush of explore.brushes) {
      const axis = axes.find((a) => a.path === brush.path);
      if (!axis) continue;
      shownBrushes.push(brush);
      if (brush.values) {
        const keep = new Set(brush.values.map((v) => JSON.stringify(v)));
        for (let i = 0; i < n; i++) if (pass[i] && !keep.has(JSON.stringify(axis.values[i]))) pass[i] = 0;
      } else {
        for (let i = 0; i < n; i++) {
          const v = axis.values[i];
          if (pass[i] && !(v >= brush.lo && v <= brush.hi)) pass[i] = 0;
        }
      }
    }
    return pass;
  }

  let geometry = null;
  function draw() {
    if (!data) return;
    const started = performance.now();
    const width = Math.max(500, wrap.clientWidth || container.clientWidth || 1000);
    const g = sizedContext(canvas, width, HEIGHT);
    const n = data.ids.length;
    const k = axes.length;
    const plotH = HEIGHT - PAD.top - PAD.bottom;
    const xs = axes.map((_, i) => (k === 1 ? width / 2 : PAD.left + (i * (width - PAD.left - PAD.right)) / (k - 1)));
    const yOf = (t) => PAD.top + (1 - t) * plotH;
    geometry = { xs, plotH, yOf, width };
    const pass = passing();
    const colorAxis = axes[axes.length - 1];
    const colors = colorBy(colorAxis.values);
    // Faded lines first, then one path per colour.
    const groups = new Map();
    const faint = [];
    let shown = 0;
    for (let i = 0; i < n; i++) {
      if (!pass[i]) {
        faint.push(i);
        continue;
      }
      shown++;
      const c = colors.bucket(colorAxis.values[i]);
      let list = groups.get(c);
      if (!list) groups.set(c, (list = []));
      list.push(i);
    }
    const line = (i) => {
      let started_ = false;
      for (let a = 0; a < k; a++) {
        const t = axes[a].t[i];
        if (!Number.isFinite(t)) {
          started_ = false;
          continue;
        }
        const y = yOf(t);
        if (started_) g.lineTo(xs[a], y);
        else g.moveTo(xs[a], y);
        started_ = true;
      }
    };
    g.lineWidth = 1;
    if (faint.length) {
      g.strokeStyle = themeColor("line");
      g.globalAlpha = 0.6;
      g.beginPath();
      faint.forEach(line);
      g.stroke();
    }
    g.globalAlpha = shown > 5000 ? 0.25 : shown > 500 ? 0.45 : 0.85;
    for (const [c, list] of groups) {
      g.strokeStyle = colors.colors[c];
      g.beginPath();
      list.forEach(line);
      g.stroke();
    }
    g.globalAlpha = 1;
    drawAxes(g, xs, yOf);
    renderLabels(xs, width);
    renderLegend(colors);
    status.textContent = `${n.toLocaleString("en")} runs${shownBrushes.length ? `, ${shown.toLocaleString("en")} inside the brushes` : ""}${data.missing ? ` (${data.missing.toLocaleString("en")} lacking a value left out)` : ""}`;
    root.dataset.runs = String(n);
    root.dataset.inside = String(shown);
    root.dataset.drawMs = String(Math.round(performance.now() - started));
    root.classList.add("drawn");
  }

  function drawAxes(g, xs, yOf) {
    g.strokeStyle = themeColor("axis");
    g.fillStyle = themeColor("axis");
    g.font = "11px system-ui, sans-serif";
    axes.forEach((axis, a) => {
      const x = Math.round(xs[a]) + 0.5;
      g.beginPath();
      g.moveTo(x, yOf(1));
      g.lineTo(x, yOf(0));
      g.stroke();
      // Tick labels on the side with room: the last axis's to its left.
      const right = a < axes.length - 1;
      g.textAlign = right ? "left" : "right";
      const dx = right ? 5 : -5;
      const ticks = axis.kind === "category" ? categoryTicks(axis.scale) : axis.scale.ticks(4).map((t) => ({ t: axis.scale.at(t.value), label: t.label }));
      for (const tick of ticks) {
        g.fillText(tick.label, x + dx, yOf(tick.t) + 4);
        g.beginPath();
        g.moveTo(x - 3, Math.round(yOf(tick.t)) + 0.5);
        g.lineTo(x + 3, Math.round(yOf(tick.t)) + 0.5);
        g.stroke();
      }
    });
    // Brushes: a translucent band on their axis.
    g.fillStyle = themeColor("accent");
    g.globalAlpha = 0.25;
    for (const brush of shownBrushes) {
      const a = axes.findIndex((x) => x.path === brush.path);
      const [t0, t1] = brushSpan(axes[a], brush);
      g.fillRect(xs[a] - 8, yOf(t1), 16, yOf(t0) - yOf(t1));
    }
    g.globalAlpha = 1;
  }

  function categoryTicks(scale) {
    const step = Math.ceil(scale.categories.length / 12);
    return scale.categories.filter((_, i) => i % step === 0).map((c) => ({ t: scale.at(c), label: String(formatValue(c)).slice(0, 14) }));
  }

  function brushSpan(axis, brush) {
    if (brush.values) {
      const ts = brush.values.map((v) => axis.scale.at(v)).filter(Number.isFinite);
      return ts.length ? [Math.min(...ts) - 0.02, Math.max(...ts) + 0.02] : [0, 0];
    }
    const lo = axis.scale.at(brush.lo);
    const hi = axis.scale.at(brush.hi);
    return [Number.isFinite(lo) ? Math.max(0, lo) : 0, Number.isFinite(hi) ? Math.min(1, hi) : 1];
  }

  // The axis names as HTML, each as wide as the room between two axes (full name on
  // hover), so that none is clipped by the canvas or overlaps its neighbour.
  function renderLabels(xs, width) {
    const room = axes.length > 1 ? Math.min(200, (width - PAD.left - PAD.right) / (axes.length - 1) - 6) : 200;
    fill(
      labels,
      ...axes.map((axis, a) => {
        const label = shortLabel(axis.path) + (axis.scale.kind === "log" ? " (log)" : "");
        const left = Math.min(Math.max(xs[a] - room / 2, 0), width - room);
        return h(
          "button",
          {
            class: `parallel-label${axis.kind === "number" ? " switchable" : ""}`,
            dataset: { path: axis.path, scale: axis.scale.kind },
            title: `${axis.path}${axis.kind === "number" ? ` — ${axis.scale.kind} scale; click for ${axis.scale.kind === "log" ? "linear" : "log"}` : " (categories)"}`,
            style: `left:${left}px; width:${room}px`,
            onclick: () => axis.kind === "number" && switchLog(axis),
          },
          label,
        );
      }),
    );
  }

  function switchLog(axis) {
    state.log = { ...(state.log || {}), [axis.path]: axis.scale.kind !== "log" };
    explore.save();
    build();
    draw();
  }

  function renderLegend(colors) {
    if (colors.kind === "number") {
      const stops = colors.colors.slice(0, -1).join(", ");
      fill(legend, shortLabel(colorPath), " ", formatValue(colors.scale.lo), h("span", { class: "colorbar", style: `background: linear-gradient(to right, ${stops})` }), formatValue(colors.scale.hi));
    } else {
      fill(legend, shortLabel(colorPath), " ", colors.categories.map((c, i) => h("span", { class: "chip" }, h("span", { class: "swatch", style: `background:${colors.colors[i]}` }), formatValue(c))));
    }
  }

  // -- brushing ------------------------------------------------------------------------
  const events = canvasEvents(canvas, { redraw: () => draw(), onMouseUp: onUp });
  const position = events.position;
  let drag = null;
  canvas.addEventListener("mousedown", (event) => {
    if (!geometry) return;
    const [x, y] = position(event);
    const a = geometry.xs.findIndex((ax) => Math.abs(ax - x) <= 14);
    if (a < 0) return;
    event.preventDefault();
    drag = { a, y0: y, y1: y };
  });
  canvas.addEventListener("mousemove", (event) => {
    if (!geometry) return;
    const [x, y] = position(event);
    if (!drag) {
      canvas.style.cursor = geometry.xs.some((ax) => Math.abs(ax - x) <= 14) ? "ns-resize" : "default";
      return;
    }
    drag.y1 = y;
    const top = Math.max(PAD.top, Math.min(drag.y0, y));
    const bottom = Math.min(PAD.top + geometry.plotH, Math.max(drag.y0, y));
    Object.assign(brushBox.style, { left: `${geometry.xs[drag.a] - 9}px`, top: `${top}px`, height: `${Math.max(0, bottom - top)}px` });
    brushBox.hidden = false;
  });
  function onUp() {
    if (!drag) return;
    const { a, y0, y1 } = drag;
    drag = null;
    brushBox.hidden = true;
    const axis = axes[a];
    const others = explore.brushes.filter((b) => b.path !== axis.path);
    const started = performance.now();
    if (Math.abs(y1 - y0) < 3) {
      explore.setBrushes(others); // a click clears the axis's brush
    } else {
      const tOf = (y) => Math.min(1, Math.max(0, 1 - (y - PAD.top) / geometry.plotH));
      const [t0, t1] = [tOf(Math.max(y0, y1)), tOf(Math.min(y0, y1))];
      let brush;
      if (axis.kind === "category") {
        const values = axis.scale.categories.filter((c) => {
          const t = axis.scale.at(c);
          return t >= t0 && t <= t1;
        });
        brush = { path: axis.path, values };
      } else {
        const round = (v) => Number(v.toPrecision(6));
        brush = { path: axis.path, lo: round(axis.scale.invert(t0)), hi: round(axis.scale.invert(t1)) };
      }
      explore.setBrushes([...others, brush]);
    }
    root.dataset.filterMs = String(Math.round(performance.now() - started));
  }

  load();
  return {
    refresh: load,
    brushesChanged: draw,
    destroy() {
      destroyed = true;
      events.teardown();
      root.remove();
    },
  };
}
