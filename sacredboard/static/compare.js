// Compare 2–50 runs: config differences side by side ("only differences" by
// default), results and status, and one metric of all of them overlaid.

import { getJSON } from "./api.js";
import { fill, flatten, formatValue, h, statusBadge } from "./format.js";
import { color, metricPlot, plotControls } from "./plot.js";
import { outputDiff, parallelCoordinates } from "./diff.js";

const append = (el, ...kids) => el.append(...kids.filter((k) => k !== null));

export function compareView(root, params, ctx) {
  const ids = (params.get("ids") || "").split(",").filter(Boolean);
  const state = {
    all: params.get("all") === "1",
    metric: params.get("metric") || "",
    x: params.get("x") || "step",
    log: params.get("log") === "1",
    logx: params.get("logx") === "1",
    smooth: Number(params.get("smooth")) || 0,
  };
  let runs = [];
  let plot = null;
  let destroyed = false;
  const diffBox = h("div", { class: "diff" });
  const plotBox = h("div", { class: "overlay" });
  const parallelBox = h("div", { class: "parallel-box" });
  const picker = h("select", { class: "metric-select", onchange: (e) => { state.metric = e.target.value; save(); drawPlot(); } });

  append(
    root,
    h("a", { href: "/", "data-nav": true, class: "back" }, "‹ All runs"),
    h("h1", {}, `Compare ${ids.length} runs`),
    h("label", { class: "only-diff" }, h("input", { type: "checkbox", checked: !state.all, onchange: (e) => { state.all = !e.target.checked; save(); renderDiff(); } }), " only differences"),
    diffBox,
    h("h2", {}, "Config and result"),
    parallelBox,
    h("h2", {}, "Metrics"),
    h("div", { class: "plot-line" }, h("label", {}, "metric ", picker), plotControls(state, (changes) => { Object.assign(state, changes); save(); plot && plot.update(changes); })),
    plotBox,
    h("h2", {}, "Output and sources"),
    ids.length >= 2 ? outputDiff(ids) : null,
  );

  function save() {
    ctx.setParams({ ids: ids.join(","), all: state.all ? "1" : "", metric: state.metric, x: state.x === "step" ? "" : state.x, log: state.log ? "1" : "", logx: state.logx ? "1" : "", smooth: state.smooth || "" });
  }

  function renderDiff() {
    const flat = runs.map((r) => flatten(r.config || {}));
    const keys = [...new Set(flat.flatMap((f) => Object.keys(f)))].sort();
    const differs = (key) => new Set(flat.map((f) => JSON.stringify(f[key]))).size > 1;
    const shown = state.all ? keys : keys.filter(differs);
    fill(diffBox, 
      h("table", { class: "compare" },
        h("thead", {}, h("tr", {}, h("th", {}, "run"), runs.map((r, i) =>
          h("th", {}, h("span", { class: "swatch", style: `background:${color(i)}` }), h("a", { href: `/run/${encodeURIComponent(r.id)}`, "data-nav": true }, String(r.id)))))),
        h("tbody", {},
          h("tr", { class: "status-row" }, h("th", {}, "status"), runs.map((r) => h("td", {}, statusBadge(r.status)))),
          h("tr", { class: "result-row" }, h("th", {}, "result"), runs.map((r) => h("td", { class: "num" }, formatValue(r.result)))),
          shown.map((key) => h("tr", { class: differs(key) ? "differs" : "same", dataset: { key } }, h("th", {}, `config.${key}`), flat.map((f) => h("td", {}, key in f ? formatValue(f[key]) : "—")))),
          shown.length ? null : h("tr", {}, h("td", { colspan: runs.length + 1, class: "muted" }, "The configurations are identical.")),
        ),
      ),
    );
  }

  function drawPlot() {
    if (plot) plot.destroy();
    plot = null;
    if (!state.metric) return;
    const withMetric = runs.filter((r) => r.metrics.includes(state.metric));
    plot = metricPlot(plotBox, {
      name: state.metric,
      runs: runs.map((r) => ({ id: r.id, label: `run ${r.id}` })).filter((r) => withMetric.some((w) => w.id === r.id)),
      x: state.x,
      log: state.log,
      logx: state.logx,
      smooth: state.smooth,
      height: 320,
    });
  }

  async function load(first) {
    try {
      // One request for all of them: config, result, status and metric names.
      const literals = ids.map((id) => (/^\d+$/.test(id) ? id : JSON.stringify(id)));
      const answer = await getJSON("/api/runs", { filter: `id in [${literals.join(", ")}]`, sort: "id", limit: ids.length, total: 0, names: 1 });
      if (destroyed) return;
      const byId = new Map(answer.runs.map((r) => [String(r.id), { ...r, metrics: r.metric_names || [] }]));
      runs = ids.filter((id) => byId.has(id)).map((id) => byId.get(id));
      const missing = ids.filter((id) => !byId.has(id));
      if (missing.length) ctx.error(`No run with id ${missing.join(", ")} in this store.`);
      renderDiff();
      fill(parallelBox, parallelCoordinates(runs, color));
      const names = [...new Set(runs.flatMap((r) => r.metrics))].sort();
      if (!state.metric || !names.includes(state.metric)) state.metric = names[0] || "";
      fill(picker, ...names.map((n) => h("option", { value: n, selected: n === state.metric }, n)));
      if (first) drawPlot();
      else if (plot) await plot.refresh();
    } catch (error) {
      ctx.error(error.message);
    }
  }

  if (ids.length < 2 || ids.length > 200) ctx.error("Compare 2 to 200 runs (ids=1,2,3 in the URL).");
  load(true);
  return { refresh: () => load(false), destroy() { destroyed = true; if (plot) plot.destroy(); } };
}
