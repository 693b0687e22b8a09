// Sacredboard's front end: a router over the views (runs table with its groups,
// scatter and parallel-coordinate tabs, run detail, compare, studies, trash), all state in the URL, and one poll a second for "anything changed?".

import { getJSON } from "./api.js";
import { fill } from "./format.js";
import { viewsMenu } from "./saved.js";
import { tableView } from "./table.js";

const POLL_MS = 1000;
const view = document.getElementById("view");
const errorBox = document.getElementById("error");
let current = null;
let token = null;

export function showError(message) {
  errorBox.textContent = message || "";
  errorBox.hidden = !message;
}

const ctx = {
  health: { read_only: true },
  error: showError,
  // Replace the query string (the view's state) without leaving the view.
  setParams(params, { push = false } = {}) {
    const qs = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      if (Array.isArray(value)) value.forEach((v) => qs.append(key, v));
      else if (value !== undefined && value !== null && value !== "") qs.set(key, value);
    }
    const url = location.pathname + (qs.toString() ? `?${qs}` : "");
    if (url === location.pathname + location.search) return;
    history[push ? "pushState" : "replaceState"](null, "", url);
  },
  navigate(url) {
    history.pushState(null, "", url);
    route();
  },
};

// The detail and compare views (and uPlot) load on first use: the run table, the
// first page most people see, needs none of them.
let routed = 0;
async function route() {
  const mine = ++routed;
  if (current && current.destroy) current.destroy();
  current = null;
  showError("");
  fill(view);
  const params = new URLSearchParams(location.search);
  const detail = location.pathname.match(/^\/run\/(.+)$/);
  let make;
  if (detail) {
    const { detailView } = await import("./detail.js");
    make = () => detailView(view, decodeURIComponent(detail[1]), params, ctx);
  } else if (location.pathname === "/studies" || location.pathname.startsWith("/studies/")) {
    const { studiesView, studyView } = await import("./studies.js");
    const study = location.pathname.slice("/studies/".length);
    make = () => (study ? studyView(view, decodeURIComponent(study), ctx) : studiesView(view, ctx));
  } else if (location.pathname === "/trash") {
    const { trashView } = await import("./trash.js");
    make = () => trashView(view, ctx);
  } else if (location.pathname === "/compare") {
    const { compareView } = await import("./compare.js");
    make = () => compareView(view, params, ctx);
  } else {
    make = () => tableView(view, params, ctx);
  }
  if (mine === routed) current = make();
}

document.addEventListener("click", (event) => {
  const a = event.target.closest("a[data-nav]");
  if (!a || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  ctx.navigate(a.getAttribute("href"));
});
window.addEventListener("popstate", route);

// Changes: a cheap token the server computes from file stats or one aggregate query;
// a hidden tab does not poll at all.
async function poll() {
  if (!document.hidden) {
    try {
      const answer = await getJSON("/api/changes", { since: token });
      document.getElementById("live").classList.remove("stale");
      if (token !== null && answer.changed && current && current.refresh) await current.refresh();
      token = answer.token;
    } catch (_) {
      document.getElementById("live").classList.add("stale");
    }
  }
  setTimeout(poll, POLL_MS);
}

// The colour theme: "auto" follows prefers-color-scheme; the toggle cycles through
// auto, dark and light and remembers the choice in this browser. Canvases (charts)
// read their colours when drawn, so the view is drawn again.
const THEMES = ["auto", "dark", "light"];
function applyTheme(theme) {
  if (theme === "auto") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
  document.getElementById("theme").textContent = `theme: ${theme}`;
}
function setupTheme() {
  let theme = "auto";
  try {
    theme = localStorage.getItem("sacredboard-theme") || "auto";
  } catch (_) {
    // storage disabled: the system's choice
  }
  if (!THEMES.includes(theme)) theme = "auto";
  applyTheme(theme);
  document.getElementById("theme").addEventListener("click", () => {
    theme = THEMES[(THEMES.indexOf(theme) + 1) % THEMES.length];
    try {
      localStorage.setItem("sacredboard-theme", theme);
    } catch (_) {
      // not remembered, still applied
    }
    applyTheme(theme);
    route();
  });
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => theme === "auto" && route());
}

function start() {
  setupTheme();
  viewsMenu(document.getElementById("views-menu"), ctx);
  // The health answer (kind of store, read-only) and the first view load together.
  getJSON("/api/health")
    .then((health) => {
      ctx.health = health;
      document.getElementById("store-kind").textContent =
        `${health.store} store${health.read_only ? " · read-only" : ""}`;
      document.body.classList.toggle("read-only", !!health.read_only);
      if (current && current.healthChanged) current.healthChanged();
    })
    .catch((error) => showError(`Cannot reach the board's API: ${error.message}`));
  route();
  poll();
}

start();
