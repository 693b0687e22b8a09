// Small formatting helpers and DOM building.

export const STATUSES = [
  ["RUNNING", "Running"],
  ["COMPLETED", "Completed"],
  ["FAILED", "Failed"],
  ["INTERRUPTED", "Interrupted"],
  ["TIMEOUT", "Timed out"],
  ["PROBABLY_DEAD", "Probably dead"],
  ["QUEUED", "Queued"],
];
export const STATUS_LABEL = Object.fromEntries(STATUSES);

// h("div", {class: "x", onclick: fn}, child, "text", [children]) -> element
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

export function statusBadge(status) {
  return h("span", { class: `status s-${status || "UNKNOWN"}` }, STATUS_LABEL[status] || status || "?");
}

export function formatTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function ago(iso, now = Date.now()) {
  if (!iso) return "";
  const seconds = Math.max(0, Math.round((now - new Date(iso).getTime()) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

// Numbers with `digits` significant digits, trailing zeros dropped; a plain decimal
// between 1e-4 and 1e6, otherwise a short exponent ("3e-5", "1.25e+7", never
// "3.0000e-4").
export function formatNumber(value, digits = 5) {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e6)) {
    const [mantissa, exponent] = value.toExponential(digits - 1).split("e");
    return `${trimZeros(mantissa)}e${exponent}`;
  }
  if (abs >= 10 ** digits) return value.toFixed(0);
  return trimZeros(value.toPrecision(digits));
}

const trimZeros = (text) => (text.includes(".") ? text.replace(/\.?0+$/, "") : text);

export function formatValue(value, digits = 5) {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return formatNumber(value, digits);
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

// One formatter for a whole column, so that its numbers line up: the same number of
// decimals for all (enough for `digits` significant digits of the largest), unless
// the column spans more than four decades or leaves the plain-decimal range, where
// each value gets its own significant digits.
export function columnFormat(values, digits = 4) {
  const numbers = values.filter((v) => typeof v === "number" && Number.isFinite(v));
  if (!numbers.length || numbers.every(Number.isInteger)) return (v) => formatValue(v, digits);
  const nonzero = numbers.map(Math.abs).filter((v) => v > 0);
  const hi = Math.max(...nonzero);
  const lo = Math.min(...nonzero);
  if (!nonzero.length || hi >= 1e6 || lo < 1e-4 || hi / lo > 1e4) return (v) => formatValue(v, digits);
  const decimals = Math.min(10, Math.max(0, digits - 1 - Math.floor(Math.log10(hi))));
  // The smallest value keeps two significant digits.
  const fixed = Math.max(decimals, Math.min(10, 1 - Math.floor(Math.log10(lo))));
  return (v) => (typeof v === "number" && Number.isFinite(v) ? v.toFixed(fixed) : formatValue(v, digits));
}

// {a: {b: 1}, c: 2} -> {"a.b": 1, c: 2}
export function flatten(value, prefix = "", out = {}) {
  if (value && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length) {
    for (const [key, inner] of Object.entries(value)) flatten(inner, prefix ? `${prefix}.${key}` : key, out);
  } else if (prefix) {
    out[prefix] = value;
  }
  return out;
}

export function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// Like el.replaceChildren(...), but skipping null/false children (which the DOM
// method would insert as the text "null").
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// A colour of the current theme (a CSS variable of style.css), for canvases.
export function themeColor(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(`--${name}`).trim() || "#888";
}
