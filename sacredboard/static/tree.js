// A collapsible tree of a JSON value (config, info, host), with the config's comments
// next to their entries and a search that keeps only the matching entries.

import { formatValue, h } from "./format.js";

// options: open (levels shown open), docs ({dotted path: comment}), path (of value)
export function tree(value, { open = 2, depth = 0, docs = {}, path = "" } = {}) {
  if (value && typeof value === "object" && Object.keys(value).length) {
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
    return h(
      "ul",
      { class: "tree" },
      entries.map(([key, inner]) => {
        const here = path ? `${path}.${key}` : key;
        const doc = docs[here] ? h("span", { class: "doc" }, ` # ${docs[here]}`) : null;
        if (inner && typeof inner === "object" && Object.keys(inner).length) {
          return h(
            "li",
            { dataset: { search: `${here} ${docs[here] || ""}`.toLowerCase() } },
            h(
              "details",
              { open: depth + 1 < open },
              h("summary", {}, h("span", { class: "key" }, key), h("span", { class: "muted" }, Array.isArray(inner) ? ` [${inner.length}]` : ` {${Object.keys(inner).length}}`), doc),
              tree(inner, { open, depth: depth + 1, docs, path: here }),
            ),
          );
        }
        const shown = inner === null ? "null" : typeof inner === "string" ? JSON.stringify(inner) : formatValue(inner);
        return h(
          "li",
          { dataset: { search: `${here} ${shown} ${docs[here] || ""}`.toLowerCase() } },
          h("span", { class: "key" }, key), ": ", h("span", { class: `val t-${inner === null ? "null" : typeof inner}` }, shown), doc,
        );
      }),
    );
  }
  return h("span", { class: "val" }, value === undefined ? "" : JSON.stringify(value));
}

// Show only the entries whose path, value or comment contains text (and the
// branches leading to them, opened); an empty text shows everything again.
export function filterTree(root, text) {
  const needle = text.trim().toLowerCase();
  // Children come after their parents in document order: reversed, every entry is
  // decided before the branch holding it.
  for (const li of [...root.querySelectorAll("li")].reverse()) {
    const children = [...li.querySelectorAll(":scope > details > ul > li")];
    const match = !needle || li.dataset.search.includes(needle) || children.some((c) => !c.hidden);
    li.hidden = !match;
    const details = li.querySelector(":scope > details");
    if (details && needle && match) details.open = true;
  }
}

// A tree with a search box above it.
export function searchableTree(value, options = {}) {
  const body = h("div", { class: "tree-body" }, tree(value, options));
  const input = h("input", {
    class: "tree-search",
    type: "search",
    placeholder: "Search keys, values and comments",
    oninput: (e) => filterTree(body, e.target.value),
  });
  return h("div", { class: "searchable-tree" }, input, body);
}
