// Groups: the filtered runs grouped by one or more paths, one row per group (its
// values, run count, mean ± std of the result and of each metric-summary column,
// min–max on hover), sorted on the server, each expandable to its runs; and a metric
// of chosen groups overlaid: the mean by step with a ±std (or min–max) band, the
// individual runs on demand.

import uPlot from "./vendor/uPlot.esm.js";
import { getJSON } from "./api.js";
import { fill, formatNumber, formatValue, h, statusBadge, themeColor } from "./format.js";
import { legendValue, xLegendValue } from "./plot.js";
import { PALETTE, shortLabel, valuePath } from "./scales.js";

const MAX_PLOTTED = 8;
const INDIVIDUAL_RUNS = 50;

const literal = (v) => (typeof v === "number" || typeof v === "boolean" ? String(v) : JSON.stringify(v));

// The query that selects one group's runs.
function groupQuery(base, key) {
  const parts = Object.entries(key).map(([path, value]) => (value === null || value === undefined ? `not ${path} exists` : `${path} == ${literal(value)}`));
  return [base ? `(${base})` : "", ...parts].filter(Boolean).join(" and ");
}

const keyText = (key) => Object.values(key).map((v) => formatValue(v === null ? "—" : v)).join(" · ");

function rgba(hex, alpha) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

// explore: {query(), state: {by: [paths], gsort, gmetric, band: "std"|"minmax", indiv,
// plotted: [key JSON]}, metrics: [table metric columns], save(), navigate(url)}
export function groupsView(container, explore) {
  const state = explore.state;
  let answer = null;
  let destroyed = false;
  let generation = 0;
  let chart = null;
  const expanded = new Set();

  const byInput = h("input", {
    class: "group-by",
    list: explore.keys,
    placeholder: "group by: optimizer, model.layers, experiment.name",
    value: (state.by || []).join(", "),
    onchange: (e) => {
      state.by = e.target.value.split(",").map((s) => s.trim()).filter(Boolean);
      state.plotted = [];
      explore.save();
      load();
    },
  });
  const status = h("span", { class: "muted group-status" });
  const tableBox = h("div", { class: "table-wrap" });
  const metricInput = h("input", {
    class: "group-metric",
    placeholder: "metric to plot: loss",
    value: state.gmetric || "",
    onchange: (e) => {
      state.gmetric = e.target.value.trim();
      explore.save();
      plot();
    },
  });
  const bandSelect = h(
    "select",
    { class: "group-band", onchange: (e) => { state.band = e.target.value; explore.save(); plot(); } },
    h("option", { value: "std", selected: state.band !== "minmax" }, "mean ± std"),
    h("option", { value: "minmax", selected: state.band === "minmax" }, "mean, min–max"),
  );
  const indivBox = h("input", { type: "checkbox", class: "group-runs", checked: !!state.indiv, onchange: (e) => { state.indiv = e.target.checked; explore.save(); plot(); } });
  const plotStatus = h("span", { class: "muted group-plot-status" });
  const plotBox = h("div", { class: "group-plot" });
  const root = h(
    "div",
    { class: "groups" },
    h("div", { class: "plot-line" }, h("label", {}, byInput), status),
    tableBox,
    h("h3", {}, "Metric of the checked groups"),
    h("div", { class: "plot-line" }, h("label", {}, "metric ", metricInput), h("label", {}, "band ", bandSelect), h("label", {}, indivBox, " individual runs"), plotStatus),
    plotBox,
  );
  container.append(root);

  const metricStats = () => explore.metrics.map((m) => (/:(last|min|max)$/.test(m) ? m : `${m}:last`));
  const statKey = (m) => {
    const [, name, stat] = /^(.*):(last|min|max)$/.exec(m);
    return `metrics.${name}.${stat}`;
  };

  async function load() {
    const mine = ++generation;
    if (!(state.by || []).length) {
      fill(tableBox, h("p", { class: "muted" }, "Group the runs by one or more paths: a configuration entry (a bare name), experiment.name, info.…"));
      status.textContent = "";
      return;
    }
    status.textContent = "loading…";
    try {
      const fresh = await getJSON("/api/groups", { by: state.by.map(valuePath).join(","), filter: explore.query(), metrics: metricStats().join(","), sort: state.gsort });
      if (destroyed || mine !== generation) return;
      answer = fresh;
      status.textContent = `${answer.groups.length.toLocaleString("en")} groups of ${answer.total_runs.toLocaleString("en")} runs`;
      if (!(state.plotted || []).length) state.plotted = answer.groups.slice(0, 5).map((g) => JSON.stringify(g.key));
      render();
      root.classList.add("drawn");
      if (!state.gmetric) await guessMetric();
      plot();
    } catch (error) {
      if (mine !== generation) return;
      status.textContent = error.message;
    }
  }

  // The plotted metric: the first metric column, else the first metric of a run.
  async function guessMetric() {
    if (explore.metrics.length) state.gmetric = explore.metrics[0].replace(/:(last|min|max)$/, "");
    else {
      const sample = answer.groups.flatMap((g) => g.ids_sample || [])[0];
      if (sample === undefined) return;
      try {
        const names = await getJSON(`/api/runs/${encodeURIComponent(sample)}/metrics`);
        state.gmetric = names[0] || "";
      } catch (_) {
        return;
      }
    }
    metricInput.value = state.gmetric;
  }

  function sortBy(key) {
    state.gsort = state.gsort === key ? `-${key}` : state.gsort === `-${key}` ? "" : key;
    explore.save();
    load();
  }

  function render() {
    const paths = state.by.map(valuePath);
    const stats = ["result", ...metricStats().map(statKey)];
    const sortKey = (state.gsort || "").replace(/^-/, "");
    const arrow = (key) => (sortKey === key ? ((state.gsort || "").startsWith("-") ? " ▼" : " ▲") : "");
    const head = h(
      "tr",
      {},
      h("th", { title: "Plot this group's metric" }, "plot"),
      paths.map((p) => h("th", { class: "sortable", onclick: () => sortBy("key") }, shortLabel(p), arrow("key"))),
      h("th", { class: "sortable num", dataset: { sort: "count" }, onclick: () => sortBy("count") }, "runs", arrow("count")),
      stats.map((s) => h("th", { class: "sortable num", dataset: { sort: `${s}.mean` }, title: `mean ± std of ${s}; min–max on hover`, onclick: () => sortBy(`${s}.mean`) }, s === "result" ? "result" : s.replace(/^metrics\./, ""), arrow(`${s}.mean`))),
    );
    const rows = [];
    answer.groups.forEach((group, gi) => {
      const keyJSON = JSON.stringify(group.key);
      const plotted = (state.plotted || []).indexOf(keyJSON);
      const open = expanded.has(keyJSON);
      rows.push(
        h(
          "tr",
          { class: "group", dataset: { key: keyJSON, index: String(gi) } },
          h(
            "td",
            { class: "sel" },
            h("input", {
              type: "checkbox",
              class: "plot-group",
              checked: plotted >= 0,
              disabled: plotted < 0 && (state.plotted || []).length >= MAX_PLOTTED,
              onchange: (e) => {
                const now = (state.plotted || []).filter((k) => k !== keyJSON);
                if (e.target.checked) now.push(keyJSON);
                state.plotted = now;
                explore.save();
                render();
                plot();
              },
            }),
            plotted >= 0 ? h("span", { class: "swatch", style: `background:${PALETTE[plotted % PALETTE.length]}` }) : null,
          ),
          paths.map((p, i) =>
            h("td", {}, i === 0 ? h("button", { class: "icon expand", title: open ? "Hide the runs" : "Show the runs", onclick: () => toggle(keyJSON) }, open ? "▾" : "▸") : null, formatValue(group.key[p] === null ? "—" : group.key[p])),
          ),
          h("td", { class: "num count" }, group.count.toLocaleString("en")),
          stats.map((s) => statCell(group.stats[s])),
        ),
      );
      if (open) rows.push(h("tr", { class: "group-runs-row" }, h("td", { colspan: paths.length + stats.length + 2 }, runsOf(group))));
    });
    fill(tableBox, h("table", { class: "runs groups-table" }, h("thead", {}, head), h("tbody", {}, rows)));
  }

  function statCell(stat) {
    if (!stat || !stat.n) return h("td", { class: "num" }, "");
    const std = stat.std === null || stat.std === undefined ? "" : ` ± ${formatNumber(stat.std, 3)}`;
    return h("td", { class: "num stat", title: `min ${formatValue(stat.min)} – max ${formatValue(stat.max)}, ${stat.n} runs` }, formatNumber(stat.mean, 4), h("span", { class: "muted" }, std));
  }

  function toggle(keyJSON) {
    if (expanded.has(keyJSON)) expanded.delete(keyJSON);
    else expanded.add(keyJSON);
    render();
  }

  // A group's runs (the newest 20), with links to them.
  function runsOf(group) {
    const box = h("div", { class: "group-runs-list muted" }, "loading…");
    getJSON("/api/runs", { filter: groupQuery(explore.query(), group.key), limit: 20, total: 0 })
      .then((page) => {
        fill(
          box,
          h("table", { class: "runs inner" }, h("tbody", {}, page.runs.map((run) =>
            h("tr", { class: `run s-${run.status}`, dataset: { id: String(run.id) } },
              h("td", { class: "id" }, h("a", { href: `/run/${encodeURIComponent(run.id)}`, "data-nav": true }, String(run.id))),
              h("td", {}, statusBadge(run.status)),
              h("td", { class: "num" }, formatValue(run.result)),
            )))),
          group.count > page.runs.length ? h("span", { class: "muted" }, `… and ${group.count - page.runs.length} more`) : null,
        );
        box.classList.remove("muted");
      })
      .catch((error) => fill(box, error.message));
    return box;
  }

  // -- the band plot ------------------------------------------------------------------

  let plotGeneration = 0;
  async function plot() {
    const mine = ++plotGeneration;
    const keys = (state.plotted || []).filter((k) => answer && answer.groups.some((g) => JSON.stringify(g.key) === k));
    if (!state.gmetric || !keys.length) {
      if (chart) chart.destroy();
      chart = null;
      plotStatus.textContent = state.gmetric ? "Check groups in the table to plot them." : "";
      return;
    }
    plotStatus.textContent = "loading…";
    const started = performance.now();
    try {
      const by = state.by.map(valuePath).join(",");
      const bands = await Promise.all(
        keys.map((key) => getJSON("/api/groups/metric", { by, key, name: state.gmetric, filter: explore.query(), max_points: 2000 })),
      );
      let individual = [];
      if (state.indiv) {
        individual = await Promise.all(
          bands.map((band) =>
            band.runs.length
              ? getJSON(`/api/metrics/${encodeURIComponent(state.gmetric)}`, { runs: band.runs.slice(0, INDIVIDUAL_RUNS).join(","), max_points: 1000 })
              : { runs: {} },
          ),
        );
      }
      if (destroyed || mine !== plotGeneration) return;
      draw(keys, bands, individual);
      const runs = bands.reduce((n, b) => n + b.runs.length, 0);
      plotStatus.textContent = `${keys.length} groups, ${runs} runs with ${state.gmetric}`;
      plotBox.dataset.drawMs = String(Math.round(performance.now() - started));
      plotBox.classList.add("drawn");
    } catch (error) {
      if (mine !== plotGeneration) return;
      plotStatus.textContent = error.message;
    }
  }

  function draw(keys, bands, individual) {
    const minmax = state.band === "minmax";
    const tables = [];
    const series = [{ label: "step", value: xLegendValue(false) }];
    const bandPairs = [];
    const hidden = [];
    bands.forEach((band, gi) => {
      const c = PALETTE[gi % PALETTE.length];
      const label = keyText(JSON.parse(keys[gi]));
      const lower = band.mean.map((m, i) => (minmax ? band.min[i] : band.std[i] === null ? m : m - band.std[i]));
      const upper = band.mean.map((m, i) => (minmax ? band.max[i] : band.std[i] === null ? m : m + band.std[i]));
      const base = series.length;
      tables.push([band.steps, band.mean], [band.steps, upper], [band.steps, lower]);
      series.push(
        { label, stroke: c, width: 2, spanGaps: true, value: legendValue },
        { label: `${label} upper`, stroke: rgba(c, 0.3), width: 1, spanGaps: true, points: { show: false } },
        { label: `${label} lower`, stroke: rgba(c, 0.3), width: 1, spanGaps: true, points: { show: false } },
      );
      bandPairs.push({ series: [base + 1, base + 2], fill: rgba(c, 0.15) });
      hidden.push(base + 1, base + 2);
      const runs = (individual[gi] || { runs: {} }).runs;
      for (const [id, d] of Object.entries(runs)) {
        tables.push([d.steps, d.values]);
        series.push({ label: `run ${id}`, stroke: rgba(c, 0.35), width: 1, spanGaps: true, points: { show: false } });
        hidden.push(series.length - 1);
      }
    });
    const data = uPlot.join(tables);
    if (chart) chart.destroy();
    const grid = themeColor("grid");
    const axis = { stroke: themeColor("axis"), grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    chart = new uPlot(
      {
        width: Math.max(400, plotBox.clientWidth || container.clientWidth || 900),
        height: 320,
        series,
        bands: bandPairs,
        scales: { x: { time: false } },
        axes: [axis, { ...axis, size: 60, values: (u, splits) => splits.map((v) => formatNumber(v, 4)) }],
        legend: { live: true },
      },
      data,
      plotBox,
    );
    // The band edges and individual runs have no legend entry of their own.
    const entries = chart.root.querySelectorAll(".u-legend .u-series");
    for (const i of hidden) if (entries[i]) entries[i].style.display = "none";
    chart.root.dataset.groups = String(bands.length);
    chart.root.dataset.individual = String(series.length - 1 - bands.length * 3);
  }

  load();
  return {
    refresh: load,
    destroy() {
      destroyed = true;
      if (chart) chart.destroy();
      root.remove();
    },
  };
}
