// Scatter plot of every run the filter matches: any numeric value path on x and y
// (config, info, result, metric summary, duration), colour by a third path, log
// axes; hover shows the run, a click opens it, dragging a box filters the table.
// Drawn on a canvas (100,000 points in well under a second), one fill per colour.

import { getBinary } from "./api.js";
import { canvasEvents, sizedContext } from "./canvasview.js";
import { fill, formatValue, h, themeColor } from "./format.js";
import { colorBy, numberScale, PALETTE, shortLabel, valuePath } from "./scales.js";

const PAD = { left: 64, right: 16, top: 12, bottom: 40 };
const HEIGHT = 440;
const CELL = 8; // px: the hover index's grid
// The data fill 94% of each axis: points at the extremes are not cut by the frame.
const fit = (t) => 0.03 + 0.94 * t;
const unfit = (u) => (u - 0.03) / 0.94;

// "#rrggbb" or "rgb(r, g, b)" as a pixel of a Uint32Array over RGBA bytes (the
// platforms browsers run on are little-endian: 0xAABBGGRR).
function pixel(color) {
  let r = 128;
  let gr = 128;
  let b = 128;
  const rgb = /^rgb\((\d+),\s*(\d+),\s*(\d+)\)$/.exec(color);
  if (rgb) [r, gr, b] = rgb.slice(1).map(Number);
  else if (/^#[0-9a-f]{6}$/i.test(color)) [r, gr, b] = [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16));
  return ((255 << 24) | (b << 16) | (gr << 8) | r) >>> 0;
}

// /api/points?format=binary (sacredboard/pointbytes.py): a JSON header, then
// little-endian arrays the page views in place (browsers run on little-endian
// platforms): {ids, x, y: Float64Array, color: null | {kind: "number", values:
// Float64Array (NaN: none)} | {kind: "category", codes: Int32Array (-1: none),
// values: [the dictionary]}, missing}. No number is parsed from text.
export function decodePoints(buffer) {
  const length = new DataView(buffer).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, length)));
  const n = header.n;
  const columns = {};
  for (const c of header.columns) columns[c.name] = c.type === "float64" ? new Float64Array(buffer, c.offset, n) : new Int32Array(buffer, c.offset, n);
  let color = null;
  if (header.color && header.color.kind === "number") color = { kind: "number", values: columns.color };
  else if (header.color) color = { kind: "category", codes: columns.color, values: header.color.values };
  return { ids: Array.isArray(header.ids) ? header.ids : columns.ids, x: columns.x, y: columns.y, color, missing: header.missing };
}

// The colour of a point's run (null: none), for the tooltip.
function colorValue(color, i) {
  if (color.kind === "number") return Number.isNaN(color.values[i]) ? null : color.values[i];
  return color.codes[i] >= 0 ? color.values[color.codes[i]] : null;
}

// A categorical colouring from the dictionary codes (as scales.colorBy: the ten most
// frequent values from the palette, the rest grey), counted per code, not per value.
function categoryColors(color) {
  const counts = new Int32Array(color.values.length);
  for (const c of color.codes) if (c >= 0) counts[c]++;
  const used = [...counts.keys()].filter((c) => counts[c] > 0);
  const top = used.sort((a, b) => counts[b] - counts[a] || a - b).slice(0, PALETTE.length);
  const buckets = new Int32Array(color.values.length + 1).fill(top.length);
  top.forEach((c, k) => (buckets[c] = k));
  return {
    kind: "category",
    categories: top.map((c) => color.values[c]),
    colors: [...PALETTE.slice(0, top.length), "#999999"],
    distinct: used.length,
    bucketAt: (i) => buckets[color.codes[i] >= 0 ? color.codes[i] : color.values.length],
  };
}

function colouring(color) {
  if (!color) return null;
  if (color.kind === "category") return categoryColors(color);
  const colors = colorBy(color.values);
  return { ...colors, bucketAt: (i) => colors.bucket(color.values[i]) };
}

// paint: [[colour, indices]], later ones over earlier ones.
function drawPoints(g, paint, px, py, size, width, ratio) {
  const W = Math.round(width * ratio);
  const H = Math.round(HEIGHT * ratio);
  const off = document.createElement("canvas");
  off.width = W;
  off.height = H;
  const image = off.getContext("2d").createImageData(W, H);
  const buffer = new Uint32Array(image.data.buffer);
  const side = Math.max(1, Math.round(size * ratio));
  const half = size / 2;
  for (const [color, list] of paint) {
    const value = pixel(color);
    for (const i of list) {
      const x0 = Math.round((px[i] - half) * ratio);
      const y0 = Math.round((py[i] - half) * ratio);
      for (let dy = 0; dy < side; dy++) {
        const y = y0 + dy;
        if (y < 0 || y >= H) continue;
        const row = y * W;
        for (let dx = 0; dx < side; dx++) {
          const x = x0 + dx;
          if (x >= 0 && x < W) buffer[row + x] = value;
        }
      }
    }
  }
  off.getContext("2d").putImageData(image, 0, 0);
  g.globalAlpha = 0.85;
  g.drawImage(off, 0, 0, width, HEIGHT);
  g.globalAlpha = 1;
}

// explore: {query() -> the filter without brushes, brushes, setBrushes(list),
// state: {x, y, color, logx, logy}, save(), navigate(url), keys: datalist id}
export function scatterView(container, explore) {
  const state = explore.state;
  let data = null;
  let destroyed = false;
  let generation = 0;
  let layout = null; // {px: Float32Array, py, ...} of the last drawing
  let grid = null;

  const canvas = h("canvas", { class: "scatter-canvas" });
  const overlay = h("div", { class: "scatter-box", hidden: true });
  const tip = h("div", { class: "scatter-tip", hidden: true });
  const legend = h("div", { class: "scatter-legend" });
  const status = h("span", { class: "muted scatter-status" });
  const input = (key, placeholder) =>
    h("input", {
      class: `scatter-${key}`,
      list: explore.keys,
      placeholder,
      value: state[key] || "",
      onchange: (e) => {
        state[key] = e.target.value.trim();
        explore.save();
        load();
      },
    });
  const check = (key, label) =>
    h("label", {}, h("input", { type: "checkbox", class: `scatter-${key}`, checked: !!state[key], onchange: (e) => { state[key] = e.target.checked; explore.save(); draw(); } }), ` ${label}`);
  const wrap = h("div", { class: "scatter-wrap" }, canvas, overlay, tip);
  const root = h(
    "div",
    { class: "scatter" },
    h("div", { class: "plot-line" }, h("label", {}, "x ", input("x", "lr, result, metrics.loss.min")), check("logx", "log x"), h("label", {}, "y ", input("y", "result")), check("logy", "log y"), h("label", {}, "colour ", input("color", "optimizer (optional)")), status),
    wrap,
    legend,
    h("p", { class: "muted small-print" }, "Hover a point for its run, click it to open the run, drag a box to filter the table."),
  );
  container.append(root);

  async function load() {
    const mine = ++generation;
    if (!state.x || !state.y) {
      status.textContent = "Choose the paths on x and y.";
      return;
    }
    status.textContent = "loading…";
    try {
      const answer = await getBinary("/api/points", { x: state.x, y: state.y, color: state.color, filter: explore.query(), format: "binary" });
      if (destroyed || mine !== generation) return;
      data = decodePoints(answer);
      draw();
    } catch (error) {
      if (mine !== generation) return;
      status.textContent = error.message;
      root.classList.remove("drawn");
    }
  }

  function draw() {
    if (!data) return;
    const started = performance.now();
    const width = Math.max(400, wrap.clientWidth || container.clientWidth || 900);
    const g = sizedContext(canvas, width, HEIGHT);
    const n = data.ids.length;
    const sx = numberScale(data.x, !!state.logx);
    const sy = numberScale(data.y, !!state.logy);
    const plotW = width - PAD.left - PAD.right;
    const plotH = HEIGHT - PAD.top - PAD.bottom;
    const px = new Float32Array(n);
    const py = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      px[i] = PAD.left + fit(sx.at(data.x[i])) * plotW;
      py[i] = PAD.top + (1 - fit(sy.at(data.y[i]))) * plotH;
    }
    axes(g, sx, sy, width, plotW, plotH);
    // The brushes on x and y: points outside are drawn faint.
    const bx = explore.brushes.find((b) => b.path === valuePath(state.x) && !b.values);
    const by = explore.brushes.find((b) => b.path === valuePath(state.y) && !b.values);
    const inside = (i) => (!bx || (data.x[i] >= bx.lo && data.x[i] <= bx.hi)) && (!by || (data.y[i] >= by.lo && data.y[i] <= by.hi));
    const colors = colouring(data.color);
    const size = n > 20000 ? 2 : n > 2000 ? 3 : 6;
    const byColor = new Map();
    const faint = [];
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(px[i]) || !Number.isFinite(py[i])) continue;
      if (!inside(i)) {
        faint.push(i);
        continue;
      }
      const c = colors ? colors.bucketAt(i) : 0;
      let list = byColor.get(c);
      if (!list) byColor.set(c, (list = []));
      list.push(i);
    }
    // The points go into an image's pixels (no canvas call per point: 100,000 points
    // in a few milliseconds), then onto the chart, a little transparent.
    const paint = [[themeColor("faint"), faint], ...[...byColor].map(([c, list]) => [colors ? colors.colors[c] : themeColor("accent"), list])];
    drawPoints(g, paint, px, py, size, width, window.devicePixelRatio || 1);
    layout = { px, py, sx, sy, plotW, plotH, width };
    grid = null; // built on the first hover
    renderLegend(colors);
    const left = data.missing ? ` (${data.missing.toLocaleString("en")} without both values left out)` : "";
    status.textContent = `${n.toLocaleString("en")} runs${left}`;
    root.dataset.points = String(n);
    root.dataset.drawMs = String(Math.round(performance.now() - started));
    root.dataset.drawnAt = String(Math.round(performance.now())); // ms from navigation
    root.classList.add("drawn");
  }

  function axes(g, sx, sy, width, plotW, plotH) {
    g.strokeStyle = themeColor("line");
    g.fillStyle = themeColor("axis");
    g.font = "11px system-ui, sans-serif";
    g.lineWidth = 1;
    g.beginPath();
    for (const t of sx.ticks(Math.max(3, Math.floor(plotW / 90)))) {
      const x = Math.round(PAD.left + fit(sx.at(t.value)) * plotW) + 0.5;
      g.moveTo(x, PAD.top);
      g.lineTo(x, PAD.top + plotH);
      g.textAlign = "center";
      g.fillText(t.label, x, PAD.top + plotH + 14);
    }
    for (const t of sy.ticks(6)) {
      const y = Math.round(PAD.top + (1 - fit(sy.at(t.value))) * plotH) + 0.5;
      g.moveTo(PAD.left, y);
      g.lineTo(PAD.left + plotW, y);
      g.textAlign = "right";
      g.fillText(t.label, PAD.left - 6, y + 4);
    }
    g.stroke();
    g.textAlign = "center";
    g.font = "12px system-ui, sans-serif";
    g.fillText(shortLabel(valuePath(state.x)) + (state.logx ? " (log)" : ""), PAD.left + plotW / 2, HEIGHT - 6);
    g.save();
    g.translate(12, PAD.top + plotH / 2);
    g.rotate(-Math.PI / 2);
    g.fillText(shortLabel(valuePath(state.y)) + (state.logy ? " (log)" : ""), 0, 0);
    g.restore();
  }

  function renderLegend(colors) {
    if (!colors) return fill(legend);
    if (colors.kind === "number") {
      const stops = colors.colors.slice(0, -1).join(", ");
      return fill(legend, shortLabel(valuePath(state.color)), " ", formatValue(colors.scale.lo), h("span", { class: "colorbar", style: `background: linear-gradient(to right, ${stops})` }), formatValue(colors.scale.hi));
    }
    return fill(legend, shortLabel(valuePath(state.color)), " ", colors.categories.map((c, i) => h("span", { class: "chip" }, h("span", { class: "swatch", style: `background:${colors.colors[i]}` }), formatValue(c))), colors.categories.length < colors.distinct ? h("span", { class: "chip" }, h("span", { class: "swatch", style: "background:#999" }), "other") : null);
  }

  // The nearest point under the cursor, through a grid of CELL px cells.
  function nearest(x, y) {
    if (!layout) return -1;
    const { px, py } = layout;
    if (!grid) {
      grid = new Map();
      for (let i = 0; i < px.length; i++) {
        if (!Number.isFinite(px[i]) || !Number.isFinite(py[i])) continue;
        const key = `${Math.floor(px[i] / CELL)},${Math.floor(py[i] / CELL)}`;
        const list = grid.get(key);
        if (list) list.push(i);
        else grid.set(key, [i]);
      }
    }
    let best = -1;
    let bestD = 64; // within 8 px
    const cx = Math.floor(x / CELL);
    const cy = Math.floor(y / CELL);
    for (let a = cx - 1; a <= cx + 1; a++) {
      for (let b = cy - 1; b <= cy + 1; b++) {
        for (const i of grid.get(`${a},${b}`) || []) {
          const d = (px[i] - x) ** 2 + (py[i] - y) ** 2;
          if (d < bestD) [best, bestD] = [i, d];
        }
      }
    }
    return best;
  }

  const events = canvasEvents(canvas, { redraw: () => draw(), onMouseUp: onUp });
  const position = events.position;
  let dragFrom = null;
  canvas.addEventListener("mousedown", (event) => {
    dragFrom = position(event);
  });
  canvas.addEventListener("mousemove", (event) => {
    const [x, y] = position(event);
    if (dragFrom) {
      const [x0, y0] = dragFrom;
      Object.assign(overlay.style, { left: `${Math.min(x, x0)}px`, top: `${Math.min(y, y0)}px`, width: `${Math.abs(x - x0)}px`, height: `${Math.abs(y - y0)}px` });
      overlay.hidden = Math.abs(x - x0) < 4 && Math.abs(y - y0) < 4;
      return;
    }
    const i = nearest(x, y);
    canvas.style.cursor = i >= 0 ? "pointer" : "crosshair";
    if (i < 0) {
      tip.hidden = true;
      return;
    }
    fill(tip, h("strong", {}, `run ${data.ids[i]}`), h("br"), `${shortLabel(valuePath(state.x))}: ${formatValue(data.x[i])}`, h("br"), `${shortLabel(valuePath(state.y))}: ${formatValue(data.y[i])}`, data.color ? [h("br"), `${shortLabel(valuePath(state.color))}: ${formatValue(colorValue(data.color, i))}`] : null);
    tip.dataset.id = String(data.ids[i]);
    Object.assign(tip.style, { left: `${layout.px[i] + 10}px`, top: `${layout.py[i] + 10}px` });
    tip.hidden = false;
  });
  canvas.addEventListener("mouseleave", () => {
    tip.hidden = true;
  });
  function onUp(event) {
    if (!dragFrom || !layout) return;
    const [x0, y0] = dragFrom;
    dragFrom = null;
    const [x1, y1] = position(event);
    overlay.hidden = true;
    if (Math.abs(x1 - x0) < 4 && Math.abs(y1 - y0) < 4) {
      const i = nearest(x1, y1);
      if (i >= 0) explore.navigate(`/run/${encodeURIComponent(data.ids[i])}`);
      return;
    }
    // The box, in data units, becomes two brushes: the table shows the runs inside.
    const { sx, sy, plotW, plotH } = layout;
    // Past the frame's edge means "everything beyond": the scale's end, a little more.
    const tx = (x) => Math.min(1.04, Math.max(-0.04, unfit((x - PAD.left) / plotW)));
    const ty = (y) => Math.min(1.04, Math.max(-0.04, unfit(1 - (y - PAD.top) / plotH)));
    const xs = [sx.invert(tx(Math.min(x0, x1))), sx.invert(tx(Math.max(x0, x1)))];
    const ys = [sy.invert(ty(Math.max(y0, y1))), sy.invert(ty(Math.min(y0, y1)))];
    const round = (v) => Number(v.toPrecision(6));
    const others = explore.brushes.filter((b) => b.path !== valuePath(state.x) && b.path !== valuePath(state.y));
    explore.setBrushes([...others, { path: valuePath(state.x), lo: round(xs[0]), hi: round(xs[1]) }, { path: valuePath(state.y), lo: round(ys[0]), hi: round(ys[1]) }]);
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
