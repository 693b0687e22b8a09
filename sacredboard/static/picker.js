// The column picker: a searchable list of the keys the store has (configuration,
// info, meta, result, … entries of the newest runs, with their kinds and comments;
// the metrics they logged, each as its last value, minimum or maximum), instead of
// typing paths by hand.

import { getJSON } from "./api.js";
import { fill, h } from "./format.js";

// The keys, fetched once per picker: [{group, label, kind: "column" | "metric",
// value, note}] from /api/fields (the newest runs' keys with their kinds and config
// comments, and the metric names of the newest runs).
async function storeKeys() {
  const answer = await getJSON("/api/fields");
  const out = answer.fields.map((f) => ({ group: f.group, label: f.path, kind: "column", value: f.label, note: [f.kind, f.doc].filter(Boolean).join(" · ") }));
  for (const name of answer.metrics || []) {
    for (const part of ["last", "min", "max"]) {
      out.push({ group: "metrics", label: `${name} (${part})`, kind: "metric", value: part === "last" ? name : `${name}:${part}`, note: "" });
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
      try {
        keys = await storeKeys();
      } catch (error) {
        fill(list, h("span", { class: "muted" }, error.message));
        return;
      }
    }
    render();
  }

  function render() {
    const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    const shown = keys.filter((k) => words.every((w) => `${k.group} ${k.label} ${k.note}`.toLowerCase().includes(w)));
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
                k.note ? h("span", { class: "picker-note muted" }, ` ${k.note}`) : null,
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
