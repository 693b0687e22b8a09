// One run: status, tags and note, metric plots, config tree, host, dependencies,
// captured output, fail trace, info, artifacts (previews) and sources.

import { filePath, getJSON, runPath, send } from "./api.js";
import { fill, formatTime, h, statusBadge } from "./format.js";
import { metricPlot, plotControls } from "./plot.js";
import { searchableTree, tree } from "./tree.js";
import { highlight } from "./highlight.js";
import { applyBackspacesAndLinefeeds } from "./terminal.js";
import { csvTable, jsonPreview } from "./preview.js";

const IMAGE = /\.(png|jpe?g|gif|svg|webp|bmp)$/i;
const CSV = /\.(csv|tsv)$/i;
const JSON_FILE = /\.(json|jsonl)$/i;
const TEXT = /\.(txt|log|csv|tsv|json|jsonl|ya?ml|md|py|cfg|ini|toml|out)$/i;

// The paper's TensorBoard integration: the board starts TensorBoard on the run's log
// directories and links to it, or shows the command when TensorBoard is not installed
// (or the board is read-only).
function tensorBoardButton(run, readOnly) {
  const dirs = ((run.info || {}).tensorflow || {}).logdirs || [];
  const shown = h("span", { class: "tensorboard-answer" });
  const command = (text) => fill(shown, "Run: ", h("code", {}, text));
  if (readOnly) {
    const quoted = dirs.map((d) => (/^[\w@%+=:,./-]+$/.test(d) ? d : `'${d.replace(/'/g, "'\\''")}'`));
    command(`tensorboard --logdir ${quoted.join(",")}`);
    return h("div", { class: "tensorboard" }, shown);
  }
  const button = h("button", {
    onclick: async () => {
      button.disabled = true;
      fill(shown, "starting TensorBoard…");
      try {
        const answer = await send("POST", `${runPath(run.id)}/tensorboard`, {});
        if (answer.available) {
          fill(shown, h("a", { href: answer.url, target: "_blank", rel: "noopener" }, answer.url));
          window.open(answer.url, "_blank", "noopener");
        } else {
          command(answer.command);
        }
      } catch (error) {
        fill(shown, h("span", { class: "error" }, error.message));
      } finally {
        button.disabled = false;
      }
    },
  }, "TensorBoard");
  return h("div", { class: "tensorboard" }, button, " ", shown);
}

function section(title, content, { open = true, cls = "" } = {}) {
  return h("details", { class: `section ${cls}`, open }, h("summary", {}, title), content);
}

export function detailView(root, runId, params, ctx) {
  const state = {
    metrics: params.getAll("m"),
    x: params.get("x") || "step",
    log: params.get("log") === "1",
    logx: params.get("logx") === "1",
    smooth: Number(params.get("smooth")) || 0,
    // "list": a chart per chosen metric; "grid": small charts of all metrics;
    // "together": the chosen metrics in one chart (train vs validation).
    layout: ["grid", "together"].includes(params.get("layout")) ? params.get("layout") : "list",
  };
  const plots = new Map();
  let record = null;
  // The config's comments, read from the run's stored sources once; the config
  // section is kept across live refreshes (its search text and open branches stay).
  let configDocs = {};
  let configSection = null;
  let configShown = null;
  let destroyed = false;

  const header = h("div", { class: "run-head" });
  const editsBox = h("div", { class: "run-edits" });
  const metricsBox = h("div", { class: "metrics" });
  const metricPicker = h("div", { class: "metric-picker" });
  const layoutSelect = h(
    "select",
    {
      class: "layout",
      onchange: (e) => {
        state.layout = e.target.value;
        saveState();
        for (const plot of plots.values()) plot.destroy();
        plots.clear();
        syncPlots();
      },
    },
    [["list", "a chart per metric"], ["grid", "small charts of all metrics"], ["together", "chosen metrics in one chart"]].map(([value, label]) =>
      h("option", { value, selected: state.layout === value }, label),
    ),
  );
  const rest = h("div", { class: "run-sections" });
  root.append(
    h("a", { href: "/", "data-nav": true, class: "back" }, "‹ All runs"),
    header,
    editsBox,
    section("Metrics", h("div", {}, h("div", { class: "plot-line" }, h("label", {}, "layout ", layoutSelect), plotControls(state, changePlots)), metricPicker, metricsBox), { cls: "metrics-section" }),
    rest,
  );

  function saveState() {
    ctx.setParams({ m: state.metrics, layout: state.layout === "list" ? "" : state.layout, x: state.x === "step" ? "" : state.x, log: state.log ? "1" : "", logx: state.logx ? "1" : "", smooth: state.smooth || "" });
  }

  function changePlots(changes) {
    Object.assign(state, changes);
    saveState();
    for (const plot of plots.values()) plot.update(changes);
  }

  function syncPlots() {
    const names = record.metrics;
    const fallback = state.layout === "grid" ? names : names.slice(0, 6);
    const chosen = state.metrics.length ? state.metrics.filter((m) => names.includes(m)) : fallback;
    fill(metricPicker, 
      ...names.map((name) =>
        h("label", { class: "chip" }, h("input", {
          type: "checkbox",
          checked: chosen.includes(name),
          onchange: (e) => {
            const now = new Set(chosen);
            e.target.checked ? now.add(name) : now.delete(name);
            state.metrics = names.filter((n) => now.has(n));
            saveState();
            syncPlots();
          },
        }), name),
      ),
    );
    if (!names.length) fill(metricPicker, h("span", { class: "muted" }, "This run logged no metrics."));
    const run = [{ id: record.id, label: `run ${record.id}` }];
    const common = { runs: run, x: state.x, log: state.log, logx: state.logx, smooth: state.smooth };
    metricsBox.classList.toggle("plot-grid", state.layout === "grid");
    // What to draw: key -> options of metricPlot.
    const wanted = new Map();
    if (state.layout === "together") {
      if (chosen.length) wanted.set("together", { ...common, name: chosen.join(" · "), metrics: chosen });
    } else {
      for (const name of chosen) {
        wanted.set(name, state.layout === "grid" ? { ...common, name, compact: true, height: 170 } : { ...common, name });
      }
    }
    for (const [key, plot] of plots) {
      if (!wanted.has(key)) {
        plot.destroy();
        plots.delete(key);
      }
    }
    for (const [key, options] of wanted) {
      const plot = plots.get(key);
      if (!plot) plots.set(key, metricPlot(metricsBox, options));
      else if (key === "together" && plot.element.dataset.metric !== options.metrics.join(",")) {
        plot.destroy();
        plots.set(key, metricPlot(metricsBox, options));
      }
    }
  }

  function renderHeader() {
    const r = record;
    const boards = ((r.info || {}).tensorflow || {}).logdirs || [];
    fill(header, 
      h("h1", {}, `Run ${r.id}`, " ", h("span", { class: "muted" }, `${r.experiment?.name ?? ""} · ${r.command ?? ""}`), " ", statusBadge(r.status)),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Started"), h("dd", {}, formatTime(r.start_time)),
        h("dt", {}, "Stopped"), h("dd", {}, formatTime(r.stop_time)),
        h("dt", {}, "Last activity"), h("dd", {}, formatTime(r.heartbeat)),
        h("dt", {}, "Host"), h("dd", {}, r.host?.hostname ?? ""),
        h("dt", {}, "Result"), h("dd", { class: "result" }, JSON.stringify(r.result ?? null)),
        r.meta?.comment && [h("dt", {}, "Comment"), h("dd", {}, r.meta.comment)],
      ),
      boards.length ? tensorBoardButton(r, ctx.health.read_only) : null,
    );
  }

  function renderEdits() {
    const editable = !ctx.health.read_only;
    const tagInput = h("input", { class: "tag-input", placeholder: "add tag", onkeydown: (e) => e.key === "Enter" && addTag() });
    async function addTag() {
      const tag = tagInput.value.trim();
      if (!tag) return;
      await edit(() => send("POST", "/api/edit/tags", { ids: [record.id], add: [tag] }));
    }
    const note = h("textarea", { class: "note", rows: 2, placeholder: "note", readonly: !editable }, record.note || "");
    fill(editsBox, 
      h("div", { class: "tags" }, "Tags: ", (record.tags || []).map((t) =>
        h("span", { class: "tag" }, t, editable && h("button", { class: "icon", title: `Remove ${t}`, onclick: () => edit(() => send("POST", "/api/edit/tags", { ids: [record.id], remove: [t] })) }, "×")),
      ), editable && tagInput),
      h("div", { class: "note-box" }, note, editable && h("button", { onclick: () => edit(() => send("PUT", `${runPath(record.id)}/note`, { note: note.value })) }, "Save note")),
    );
  }

  async function edit(action) {
    try {
      await action();
      await load();
    } catch (error) {
      ctx.error(error.message);
    }
  }

  function artifactItem(name) {
    const url = filePath(record.id, "artifacts", name);
    const preview = h("div", { class: "preview" });
    const open = h("details", { class: "artifact", dataset: { name }, open: IMAGE.test(name) }, h("summary", {}, name, " ", h("a", { href: `${url}?download=1`, class: "small" }, "download")), preview);
    let shown = false;
    const show = async () => {
      if (shown) return;
      shown = true;
      if (IMAGE.test(name)) preview.append(h("img", { src: url, alt: name, loading: "lazy" }));
      else if (/\.html?$/i.test(name)) preview.append(h("iframe", { src: url, sandbox: "", title: name }));
      else if (TEXT.test(name)) {
        const text = await (await fetch(url)).text();
        // CSV/TSV and JSON as a table (or a tree); text, and JSON that does not parse, as text.
        let shownAs = null;
        if (CSV.test(name)) shownAs = csvTable(text, /\.tsv$/i.test(name) ? "\t" : ",");
        else if (JSON_FILE.test(name)) shownAs = jsonPreview(text, /\.jsonl$/i.test(name));
        preview.append(shownAs || h("pre", { class: "text-preview" }, text.length > 200000 ? `${text.slice(0, 200000)}\n…` : text));
      } else preview.append(h("span", { class: "muted" }, "No preview for this kind of file."));
    };
    open.addEventListener("toggle", () => open.open && show());
    if (open.open) show();
    return open;
  }

  function sourceItem(name) {
    const code = h("code", { class: "language-python" });
    const item = h("details", { class: "source" }, h("summary", {}, name), h("pre", {}, code));
    item.addEventListener("toggle", async () => {
      if (!item.open || code.textContent) return;
      code.textContent = await (await fetch(filePath(record.id, "sources", name))).text();
      highlight(code);
    });
    return item;
  }

  function configSectionFor(r) {
    const shown = JSON.stringify([r.config, configDocs]);
    if (shown !== configShown) {
      configShown = shown;
      configSection = section("Config", searchableTree(r.config || {}, { open: 3, docs: configDocs }), { cls: "config" });
    }
    return configSection;
  }

  // The output as a terminal shows it (progress bars collapse to their last state);
  // the raw text, with its "\r" and "\b", one click away when it differs.
  let rawOutput = false;
  function capturedOutput(raw) {
    const shown = applyBackspacesAndLinefeeds(raw);
    const pre = h("pre", { class: "captured-out" }, rawOutput ? raw : shown);
    if (shown === raw) return pre;
    const toggle = h("label", { class: "small raw-toggle" }, h("input", {
      type: "checkbox",
      class: "raw-output",
      checked: rawOutput,
      onchange: (e) => {
        rawOutput = e.target.checked;
        pre.textContent = rawOutput ? raw : shown;
      },
    }), " raw (with \\r and \\b)");
    return h("div", {}, toggle, pre);
  }

  function renderSections() {
    const r = record;
    const exp = r.experiment || {};
    fill(rest, 
      configSectionFor(r),
      r.fail_trace && section("Fail trace", h("pre", { class: "fail-trace" }, [].concat(r.fail_trace).join("")), { cls: "fail" }),
      section("Captured output", capturedOutput(r.captured_out || ""), { cls: "output" }),
      section("Info", tree(r.info || {}), { cls: "info", open: Object.keys(r.info || {}).length > 0 }),
      section(`Artifacts (${r.artifacts.length})`, h("div", {}, r.artifacts.map(artifactItem)), { cls: "artifacts" }),
      section("Host", tree(r.host || {}, { open: 1 }), { cls: "host", open: false }),
      section(
        "Experiment",
        h("div", {},
          tree({ name: exp.name, mainfile: exp.mainfile, base_dir: exp.base_dir, doc: exp.doc, repositories: exp.repositories }, { open: 1 }),
          h("h4", {}, "Dependencies"), h("ul", { class: "deps" }, (exp.dependencies || []).map((d) => h("li", {}, d))),
          h("h4", {}, "Sources"), h("div", {}, (r.sources || []).map(sourceItem)),
        ),
        { cls: "experiment", open: false },
      ),
      linkedRuns(r.lineage),
      section("Meta", tree(r.meta || {}), { cls: "meta", open: false }),
    );
  }

  // Linked runs (use_run): what this run consumed and what consumed it, as links, and
  // the consumed runs side by side on the compare page.
  function linkedRuns(lineage) {
    const { inputs = [], consumers = [] } = lineage || {};
    if (!inputs.length && !consumers.length) return null;
    const runLink = (id) => h("a", { href: `/run/${encodeURIComponent(id)}`, "data-nav": true }, `run ${id}`);
    const input = (i) => h("li", { class: "input-run" },
      i.here && !i.missing ? runLink(i.id) : `run ${i.id}`,
      i.here ? "" : ` in ${i.store}`,
      i.missing ? h("span", { class: "error" }, " (deleted)") : i.experiment ? ` · ${i.experiment} ` : " ",
      i.status ? statusBadge(i.status) : null,
      Object.keys(i.artifacts || {}).length ? h("span", { class: "muted small" }, ` ${Object.entries(i.artifacts).map(([n, md5]) => `${n} (md5 ${md5.slice(0, 8)})`).join(", ")}`) : null,
    );
    const linked = inputs.filter((i) => i.here && !i.missing).map((i) => i.id);
    return section(`Linked runs (${inputs.length} in, ${consumers.length} out)`, h("div", {},
      h("h4", {}, "Consumed"), inputs.length ? h("ul", { class: "inputs" }, inputs.map(input)) : h("p", { class: "muted" }, "nothing"),
      linked.length > 1 ? h("a", { href: `/compare?ids=${linked.map(encodeURIComponent).join(",")}`, "data-nav": true, class: "compare-inputs" }, "Compare the consumed runs") : null,
      h("h4", {}, "Consumed by"), consumers.length ? h("ul", { class: "consumers" }, consumers.map((c) => h("li", { class: "consumer-run" }, runLink(c.id), ` · ${c.experiment ?? ""} `, statusBadge(c.status)))) : h("p", { class: "muted" }, "no run"),
      consumers.length > 1 ? h("a", { href: `/compare?ids=${consumers.map((c) => encodeURIComponent(c.id)).join(",")}`, "data-nav": true, class: "compare-consumers" }, "Compare the consuming runs") : null,
    ), { cls: "lineage" });
  }

  async function load() {
    try {
      const fresh = await getJSON(runPath(runId));
      if (destroyed) return;
      const first = record === null;
      const outputChanged = !record || record.captured_out !== fresh.captured_out;
      record = fresh;
      document.title = `Run ${record.id} · Sacredboard`;
      renderHeader();
      renderEdits();
      if (first || outputChanged) renderSections();
      if (first) {
        getJSON(`${runPath(record.id)}/config_docs`)
          .then((docs) => {
            if (destroyed || !Object.keys(docs).length) return;
            configDocs = docs;
            // Only the config section changes: open artifacts and sources stay open.
            const before = configSection;
            before.replaceWith(configSectionFor(record));
          })
          .catch(() => {}); // no comments to show: the tree stays as it is
      }
      syncPlots();
      if (!first) await Promise.all([...plots.values()].map((p) => p.refresh()));
    } catch (error) {
      ctx.error(error.message);
    }
  }

  load();
  return {
    refresh: load,
    healthChanged: () => record && renderEdits(),
    destroy() {
      destroyed = true;
      for (const plot of plots.values()) plot.destroy();
      document.title = "Sacredboard";
    },
  };
}
