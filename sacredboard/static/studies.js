// Labwatch studies: the list (/studies) and one study (/studies/<study>): the
// optimization history (cost per trial and the best so far), parallel coordinates of
// the hyperparameters coloured by cost, their importance (a bar per hyperparameter),
// the best configuration with the command that runs it again, and every trial with
// its state (dead and pruned ones included).
// Live: the page reloads when the store changes (workers finishing trials).

import uPlot from "./vendor/uPlot.esm.js";
import { getJSON, runPath } from "./api.js";
import { fill, formatNumber, formatValue, h, themeColor } from "./format.js";
import { parallelView } from "./parallel.js";
import { legendValue, xLegendValue } from "./plot.js";

const STATE_CLASS = { COMPLETED: "COMPLETED", PRUNED: "INTERRUPTED", FAILED: "FAILED", RUNNING: "RUNNING", QUEUED: "QUEUED", DEAD: "PROBABLY_DEAD" };
const stateBadge = (state) => h("span", { class: `status s-${STATE_CLASS[state] || "UNKNOWN"}`, dataset: { state } }, state.toLowerCase());
const studyLink = (name) => h("a", { href: `/studies/${encodeURIComponent(name)}`, "data-nav": true }, name);
const runLink = (id) => h("a", { href: `/run/${encodeURIComponent(id)}`, "data-nav": true }, String(id));
const MAX_TRIAL_ROWS = 200;

export function studiesView(root, ctx) {
  let destroyed = false;
  const box = h("div", { class: "studies" }, h("p", { class: "muted" }, "loading…"));
  root.append(h("h1", {}, "Labwatch studies"), box);

  async function load() {
    try {
      const studies = await getJSON("/api/studies");
      if (destroyed) return;
      if (!studies.length) {
        fill(box, h("p", { class: "muted" }, "No Labwatch study in this store (runs whose meta.labwatch names a study; see docs/labwatch.md)."));
        return;
      }
      fill(
        box,
        h(
          "table",
          { class: "runs studies-table" },
          h("thead", {}, h("tr", {}, ["study", "space", "experiment", "optimizer", "trials", "completed", "failed", "running", "pruned", "dead", "best cost", "best run"].map((t) => h("th", {}, t)))),
          h(
            "tbody",
            {},
            studies.map((s) =>
              h(
                "tr",
                { class: "study", dataset: { study: s.study } },
                h("td", {}, studyLink(s.study)),
                h("td", {}, s.space ?? ""),
                h("td", {}, s.experiment ?? ""),
                h("td", {}, s.optimizer ?? ""),
                ["trials", "completed", "failed", "running", "pruned", "dead"].map((k) => h("td", { class: `num ${k}` }, String(s[k] ?? 0))),
                h("td", { class: "num" }, s.best ? formatNumber(s.best.cost, 5) : ""),
                h("td", {}, s.best ? runLink(s.best.id) : ""),
              ),
            ),
          ),
        ),
      );
      box.classList.add("drawn");
    } catch (error) {
      ctx.error(error.message);
    }
  }

  load();
  document.title = "Studies · Sacredboard";
  return {
    refresh: load,
    destroy() {
      destroyed = true;
      document.title = "Sacredboard";
    },
  };
}

// The command that runs a configuration again: `python <mainfile> <command> with
// key=value …` (sacred's command line; values as Python literals, shell-quoted).
export function rerunCommand(run, config) {
  const quote = (text) => (/^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`);
  const literal = (v) => (typeof v === "string" ? JSON.stringify(v) : typeof v === "boolean" ? (v ? "True" : "False") : v === null ? "None" : JSON.stringify(v));
  const updates = Object.entries(config).map(([key, value]) => quote(`${key}=${literal(value)}`));
  const main = (run.experiment || {}).mainfile || "experiment.py";
  return ["python", quote(main), run.command || "", updates.length ? "with" : "", ...updates].filter(Boolean).join(" ");
}

export function studyView(root, name, ctx) {
  let destroyed = false;
  let study = null;
  let history = null;
  let parallel = null;
  let bestShown = null;
  let parallelData = null;
  let importanceFor = null;
  const started = performance.now();

  const summary = h("div", { class: "study-summary" });
  const historyBox = h("div", { class: "study-history" });
  const parallelBox = h("div", { class: "study-parallel" });
  const importanceBox = h("div", { class: "study-importance" });
  const bestBox = h("div", { class: "study-best" });
  const trialsBox = h("div", { class: "table-wrap study-trials" });
  const page = h(
    "div",
    { class: "study-page" },
    h("a", { href: "/studies", "data-nav": true, class: "back" }, "‹ All studies"),
    h("h1", {}, `Study ${name}`),
    summary,
    h("h2", {}, "Best configuration"),
    bestBox,
    h("h2", {}, "Optimization history"),
    historyBox,
    h("h2", {}, "Hyperparameters"),
    parallelBox,
    h("h2", {}, "Hyperparameter importance"),
    importanceBox,
    h("h2", {}, "Trials"),
    trialsBox,
  );
  root.append(page);

  async function load() {
    try {
      const fresh = await getJSON(`/api/studies/${encodeURIComponent(name)}`);
      if (destroyed) return;
      study = fresh;
      render();
      page.dataset.drawMs = String(Math.round(performance.now() - started));
      page.classList.add("drawn");
    } catch (error) {
      ctx.error(error.message);
    }
  }

  function render() {
    const s = study;
    fill(
      summary,
      h("span", { class: "muted" }, `${s.experiment ?? ""} · space ${s.space ?? "?"} · ${s.optimizer ?? "?"} · ${s.direction === "maximize" ? "maximizing (cost = −objective)" : "minimizing"}`),
      h("div", { class: "legend study-states" },
        h("span", { class: "chip", dataset: { count: "trials" } }, `${s.trials.length} trials`),
        ["completed", "running", "failed", "pruned", "dead"].map((k) => h("span", { class: `chip state-${k}`, dataset: { count: k } }, `${s[k] ?? 0} ${k}`)),
      ),
    );
    renderBest();
    renderHistory();
    renderParallel();
    renderImportance();
    renderTrials();
  }

  // Fetched again only when the completed trials change (the server keeps the result
  // per study token too); drawn as one horizontal bar per hyperparameter, names as
  // text nodes (stored data never becomes markup).
  function renderImportance() {
    if (importanceFor === study.completed) return;
    importanceFor = study.completed;
    if (!importanceBox.firstChild) fill(importanceBox, h("p", { class: "muted" }, "computing…"));
    getJSON(`/api/studies/${encodeURIComponent(name)}/importance`)
      .then((result) => {
        if (destroyed || importanceFor !== result.completed) return;
        importanceBox.dataset.used = String(result.used);
        if (result.message) {
          fill(importanceBox, h("p", { class: "muted importance-message" }, result.message));
          importanceBox.classList.add("drawn");
          return;
        }
        const top = Math.max(...result.importance.map((e) => e.value), 1e-12);
        const bar = (entry) =>
          h(
            "div",
            { class: "importance-row", dataset: { name: entry.name, value: String(entry.value) }, style: "display:flex; align-items:center; gap:8px; margin:3px 0" },
            h("span", { class: "importance-name", title: entry.name, style: "flex:0 0 14em; text-align:right; overflow:hidden; text-overflow:ellipsis; white-space:nowrap" }, entry.name),
            h("span", { style: "flex:1 1 auto; max-width:40em" }, h("span", { class: "importance-bar", style: `display:block; height:14px; min-width:1px; width:${(100 * entry.value) / top}%; background:#4e79a7` })),
            h("span", { class: "num importance-value", style: "flex:0 0 4em" }, formatNumber(entry.value, 3)),
          );
        fill(
          importanceBox,
          result.importance.map(bar),
          h("p", { class: "muted" }, `${result.evaluator}, over ${result.used} completed trials${result.used < result.completed ? ` (the newest of ${result.completed})` : ""}; fANOVA: labwatch importance STORE SPACE.`),
        );
        importanceBox.classList.add("drawn");
      })
      .catch((error) => {
        if (!destroyed) fill(importanceBox, h("p", { class: "muted importance-message" }, error.message));
      });
  }

  function renderBest() {
    const best = study.best;
    const key = JSON.stringify(best);
    if (key === bestShown) return;
    bestShown = key;
    if (!best) {
      fill(bestBox, h("p", { class: "muted" }, "No completed trial yet."));
      return;
    }
    fill(bestBox, h("p", {}, "Trial run ", runLink(best.id), ` · cost ${formatNumber(best.cost, 6)}`), h("pre", { class: "best-config" }, JSON.stringify(best.config, null, 2)), h("p", { class: "muted" }, "loading the command…"));
    getJSON(runPath(best.id))
      .then((run) => {
        if (destroyed) return;
        const command = rerunCommand(run, best.config);
        bestBox.lastChild.replaceWith(h("div", { class: "rerun" }, "Run it again: ", h("code", { class: "rerun-command" }, command), " ", h("button", { class: "small", onclick: () => navigator.clipboard && navigator.clipboard.writeText(command) }, "copy")));
      })
      .catch((error) => bestBox.lastChild.replaceWith(h("p", { class: "muted" }, error.message)));
  }

  // Cost per trial (points) and the best so far (a step line), by trial number.
  function renderHistory() {
    const done = study.trials.filter((t) => t.cost !== null && t.cost !== undefined).map((t, i) => ({ x: typeof t.number === "number" ? t.number : i, cost: t.cost, state: t.state }));
    done.sort((a, b) => a.x - b.x);
    if (!done.length) {
      if (history) history.destroy();
      history = null;
      fill(historyBox, h("p", { class: "muted" }, "No trial has a cost yet."));
      return;
    }
    const xs = done.map((d) => d.x);
    const costs = done.map((d) => d.cost);
    let best = Infinity;
    const bestSoFar = done.map((d) => (best = Math.min(best, d.state === "COMPLETED" ? d.cost : best)) === Infinity ? null : best);
    const data = [xs, costs, bestSoFar];
    if (history) {
      history.setData(data);
      history.root.dataset.trials = String(xs.length);
      return;
    }
    fill(historyBox);
    const grid = themeColor("grid");
    const axis = { stroke: themeColor("axis"), grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    history = new uPlot(
      {
        width: Math.max(400, historyBox.clientWidth || root.clientWidth || 900),
        height: 280,
        scales: { x: { time: false } },
        series: [
          { label: "trial", value: xLegendValue(false) },
          { label: "cost", stroke: "#4e79a7", width: 0, points: { show: true, size: 5, fill: "#4e79a7" }, paths: () => null, value: legendValue },
          { label: "best so far", stroke: "#e15759", width: 2, paths: uPlot.paths.stepped({ align: 1 }), spanGaps: true, value: legendValue },
        ],
        axes: [axis, { ...axis, size: 60, values: (u, splits) => splits.map((v) => formatNumber(v, 4)) }],
      },
      data,
      historyBox,
    );
    history.root.dataset.trials = String(xs.length);
  }

  function renderParallel() {
    const space = Object.keys(study.space_def || {});
    const names = space.length ? space : [...new Set(study.trials.flatMap((t) => Object.keys(t.config || {})))].sort();
    const trials = study.trials.filter((t) => t.cost !== null && t.cost !== undefined && names.every((n) => t.config[n] !== undefined && t.config[n] !== null));
    const values = Object.fromEntries(names.map((n) => [n, trials.map((t) => t.config[n])]));
    values.cost = trials.map((t) => t.cost);
    const paths = [...names, "cost"];
    const kinds = Object.fromEntries(paths.map((p) => [p, values[p].every((v) => typeof v === "number") ? "number" : "category"]));
    parallelData = { ids: trials.map((t) => t.id), paths, values, kinds, missing: study.trials.length - trials.length };
    if (parallel) {
      parallel.refresh();
      return;
    }
    // Brushes stay on this page (there is no table to filter): they fade the lines.
    let brushes = [];
    parallel = parallelView(parallelBox, {
      get brushes() {
        return brushes;
      },
      setBrushes(list) {
        brushes = list;
        parallel.brushesChanged();
      },
      state: { log: {} },
      save() {},
      data: async () => parallelData,
    });
  }

  function renderTrials() {
    const trials = [...study.trials].reverse();
    const shown = trials.slice(0, MAX_TRIAL_ROWS);
    const space = Object.keys(study.space_def || {});
    fill(
      trialsBox,
      h(
        "table",
        { class: "runs trials" },
        h("thead", {}, h("tr", {}, h("th", {}, "trial"), h("th", {}, "run"), h("th", {}, "state"), h("th", { class: "num" }, "cost"), space.map((n) => h("th", {}, n)), h("th", {}, "retry of"))),
        h(
          "tbody",
          {},
          shown.map((t) =>
            h(
              "tr",
              { class: "trial", dataset: { id: String(t.id), state: t.state } },
              h("td", { class: "num" }, t.number ?? ""),
              h("td", {}, runLink(t.id)),
              h("td", {}, stateBadge(t.state)),
              h("td", { class: "num" }, t.cost === null || t.cost === undefined ? "" : formatNumber(t.cost, 5)),
              space.map((n) => h("td", { class: "num" }, formatValue((t.config || {})[n]))),
              h("td", {}, t.retry_of ?? ""),
            ),
          ),
        ),
      ),
      trials.length > shown.length ? h("p", { class: "muted" }, `The newest ${shown.length} of ${trials.length} trials.`) : null,
    );
  }

  load();
  document.title = `Study ${name} · Sacredboard`;
  return {
    refresh: load,
    destroy() {
      destroyed = true;
      if (history) history.destroy();
      if (parallel) parallel.destroy();
      document.title = "Sacredboard";
    },
  };
}
