// What the scatter plot, the parallel coordinates and the group views share: value
// paths, brushes as query conditions, axis scales and ticks, colour scales.

import { formatNumber } from "./format.js";

// The record fields a value path may start with (sacred.store.query.FIELDS, and
// duration); any other first name is a configuration entry ("lr" is config.lr), as
// in the filter rows and the API.
const FIELDS = new Set(["_id", "id", "experiment", "command", "host", "start_time", "stop_time", "heartbeat", "queue_time", "config", "meta", "status", "result", "info", "fail_trace", "resources", "artifacts", "tags", "note", "metrics", "duration"]);

export function valuePath(text) {
  const path = (text || "").trim();
  if (!path) return "";
  return FIELDS.has(path.split(".")[0]) ? path : `config.${path}`;
}

// "config.model.hidden" -> "model.hidden" for labels; the full path in tooltips.
export const shortLabel = (path) => path.replace(/^config\./, "");

const literal = (v) => (typeof v === "number" ? String(v) : JSON.stringify(v));

// A brush {path, lo, hi} (numbers) or {path, values} (categories) as a condition of
// the query language. The duration is not a record field: it has no condition.
export function brushQuery(brush) {
  if (brush.path === "duration") return "";
  if (brush.values) return `${brush.path} in [${brush.values.map(literal).join(", ")}]`;
  return `${brush.path} >= ${literal(brush.lo)} and ${brush.path} <= ${literal(brush.hi)}`;
}

export function withBrushes(query, brushes) {
  const parts = (brushes || []).map(brushQuery).filter(Boolean);
  if (!parts.length) return query;
  return [query ? `(${query})` : "", ...parts].filter(Boolean).join(" and ");
}

export function readBrushes(params) {
  try {
    const brushes = JSON.parse(params.get("brush") || "[]");
    return Array.isArray(brushes) ? brushes.filter((b) => b && typeof b.path === "string") : [];
  } catch (_) {
    return []; // a hand-edited URL
  }
}

// A scale maps a value to 0..1 (and back); log scales only for positive values.
export function numberScale(values, log) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (typeof v !== "number" || !Number.isFinite(v) || (log && v <= 0)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === Infinity) [lo, hi] = [log ? 1 : 0, log ? 10 : 1];
  const f = log ? Math.log10 : (v) => v;
  let a = f(lo);
  let b = f(hi);
  if (a === b) [a, b] = [a - 0.5, b + 0.5];
  const span = b - a;
  return {
    kind: log ? "log" : "linear",
    lo,
    hi,
    at: (v) => (typeof v === "number" && (!log || v > 0) ? (f(v) - a) / span : NaN),
    invert: (t) => (log ? 10 ** (a + t * span) : a + t * span),
    ticks: (count = 5) => (log ? logTicks(a, b) : linearTicks(a, b, count)),
  };
}

// Whether a path's values call for a log axis: positive and more than two decades.
export function spansDecades(values) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (typeof v !== "number") continue;
    if (v <= 0) return false;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo !== Infinity && hi / lo > 100;
}

export function categoryScale(values) {
  const counts = new Map();
  for (const v of values) {
    const key = JSON.stringify(v);
    counts.set(key, (counts.get(key) || 0) + 1);
  }
  const keys = [...counts.keys()].sort((x, y) => {
    const [a, b] = [JSON.parse(x), JSON.parse(y)];
    return typeof a === "number" && typeof b === "number" ? a - b : String(a).localeCompare(String(b));
  });
  const index = new Map(keys.map((k, i) => [k, i]));
  const n = keys.length;
  return {
    kind: "category",
    categories: keys.map((k) => JSON.parse(k)),
    at: (v) => (n === 1 ? 0.5 : index.get(JSON.stringify(v)) / (n - 1)),
    index: (v) => index.get(JSON.stringify(v)),
  };
}

function linearTicks(a, b, count) {
  const step0 = (b - a) / count;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) || step0;
  const out = [];
  for (let t = Math.ceil(a / step) * step; t <= b + step * 1e-9; t += step) out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return out.map((t) => ({ value: t, label: formatNumber(Number(t.toPrecision(12)), 4) }));
}

function logTicks(a, b) {
  const out = [];
  for (let e = Math.ceil(a - 1e-9); e <= Math.floor(b + 1e-9); e++) out.push({ value: 10 ** e, label: formatNumber(10 ** e, 3) });
  if (out.length < 2) return [{ value: 10 ** a, label: formatNumber(10 ** a, 3) }, { value: 10 ** b, label: formatNumber(10 ** b, 3) }];
  return out;
}

// Colours: a categorical palette (Tableau 10) and a numeric scale (viridis, 9 stops).
export const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];
const VIRIDIS = ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30", "#fde725"];

function mix(c1, c2, t) {
  const a = parseInt(c1.slice(1), 16);
  const b = parseInt(c2.slice(1), 16);
  const ch = (shift) => Math.round(((a >> shift) & 255) * (1 - t) + ((b >> shift) & 255) * t);
  return `rgb(${ch(16)}, ${ch(8)}, ${ch(0)})`;
}

export function viridis(t) {
  if (!Number.isFinite(t)) return "#999999";
  const x = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  return mix(VIRIDIS[i], VIRIDIS[i + 1], x - i);
}

// A colouring of values: numbers on the viridis scale (in `buckets` steps, so that a
// canvas draws one path per colour), anything else from the palette (the ten most
// frequent values; the rest grey). {bucket(v) -> index, colors: [...], legend}
export function colorBy(values, { buckets = 24, log = false } = {}) {
  const present = values.filter((v) => v !== null && v !== undefined);
  if (present.length && present.every((v) => typeof v === "number")) {
    const scale = numberScale(present, log && spansDecades(present));
    const colors = Array.from({ length: buckets }, (_, i) => viridis(i / (buckets - 1)));
    colors.push("#999999");
    return {
      kind: "number",
      scale,
      colors,
      bucket: (v) => {
        const t = scale.at(v);
        return Number.isFinite(t) ? Math.round(t * (buckets - 1)) : buckets;
      },
    };
  }
  const counts = new Map();
  for (const v of present) counts.set(JSON.stringify(v), (counts.get(JSON.stringify(v)) || 0) + 1);
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, PALETTE.length).map(([k]) => k);
  const index = new Map(top.map((k, i) => [k, i]));
  return {
    kind: "category",
    categories: top.map((k) => JSON.parse(k)),
    colors: [...PALETTE.slice(0, top.length), "#999999"],
    bucket: (v) => (index.has(JSON.stringify(v)) ? index.get(JSON.stringify(v)) : top.length),
  };
}
