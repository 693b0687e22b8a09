// The column picker: a searchable list of the keys the store has (configuration,
// info, meta and result entries of the newest runs; the metrics they logged, each
// as its last value, minimum or maximum), instead of typing paths by hand.

import { getJSON } from "./api.js";
import { fill, h } from "./format.js";

const ROOTS = ["config", "info", "meta", "result"];

// The keys, fetched once per picker: [{group, label, kind: "column" | "metric", value}]
async function storeKeys() {
  const lists = await Promise.all(ROOTS.map((root) => getJSON("/api/keys", { prefix: root }).catch(() => [])));
  const out = [];
  ROOTS.forEach((root, i) => {
    for (const path of lists[i]) {
      // Written like a filter row's field: a bare name for config, a dot for the rest.
      const value = root === "config" ? path.replace(/^config\./, "") : `.${path}`;
      out.push({ group: root, label: path, kind: "column", value });
    }
  });
  // Metric names: those of the newest runs (the store has no list of all of them).
  const page = await getJSON("/api/runs", { limit: 50, total: 0, names: 1 }).catch(() => ({ runs: [] }));
  const names = [...new Set(page.runs.flatMap((r) => r.metric_names || []))].sort();
  for (const name of names) {
    for (const part of ["last", "min", "max"]) {
      out.push({ group: "metrics", label: `${name} (${part})`, kind: "metric", value: part === "last" ? name : `${name}:${part}` });
    }
  }
  return out;
}

// picker({columns, metrics, onChange(columns, metrics)}) -> element: a button that
// opens the list (a popover); checking an entry adds the column at once.
export function columnPicker(current, onChange) {
  let keys = null;
  const search = h("input", { class: "picker-search", type: "search", placeholder: "search keys: lr, info., loss", oninput: () => render() });
  const list = h("div", { class: "picker-list" });
  const panel = h("div", { class: "picker-panel", hidden: true }, search, list);
  const button = h("button", { class: "picker-button", type: "button", title: "Pick columns and metric summaries from the store's keys", onclick: () => toggle() }, "Columns…");
  const root = h("div", { class: "picker" }, button, panel);

  async function toggle() {
    panel.hidden = !panel.hidden;
    if (panel.hidden) return;
    search.focus();
    if (!keys) {
      fill(list, h("span", { class: "muted" }, "loading…"));
      keys = await storeKeys();
    }
    render();
  }

  function render() {
    const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    const shown = keys.filter((k) => words.every((w) => `${k.group} ${k.label}`.toLowerCase().includes(w)));
    const chosen = (k) => (k.kind === "column" ? current.columns : current.metrics).includes(k.value);
    const groups = [...new Set(shown.map((k) => k.group))];
    fill(
      list,
      shown.length ? null : h("span", { class: "muted" }, "No key matches."),
      ...groups.map((group) =>
        h(
          "div",
          { class: "picker-group" },
          h("div", { class: "picker-group-name muted" }, group),
          shown
            .filter((k) => k.group === group)
            .slice(0, 200)
            .map((k) =>
              h(
                "label",
                { class: "picker-item", dataset: { value: k.value, kind: k.kind } },
                h("input", {
                  type: "checkbox",
                  checked: chosen(k),
                  onchange: (e) => {
                    const key = k.kind === "column" ? "columns" : "metrics";
                    const now = current[key].filter((v) => v !== k.value);
                    if (e.target.checked) now.push(k.value);
                    current[key] = now;
                    onChange();
                  },
                }),
                " ",
                k.label,
              ),
            ),
        ),
      ),
    );
  }

  // A click elsewhere closes the list.
  const outside = (event) => {
    if (!panel.hidden && !root.contains(event.target)) panel.hidden = true;
  };
  document.addEventListener("mousedown", outside);
  root.destroy = () => document.removeEventListener("mousedown", outside);
  return root;
}
