// A collapsible tree of a JSON value (config, info, host).

import { formatValue, h } from "./format.js";

export function tree(value, { open = 2, depth = 0 } = {}) {
  if (value && typeof value === "object" && Object.keys(value).length) {
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
    return h(
      "ul",
      { class: "tree" },
      entries.map(([key, inner]) => {
        if (inner && typeof inner === "object" && Object.keys(inner).length) {
          return h(
            "li",
            {},
            h(
              "details",
              { open: depth + 1 < open },
              h("summary", {}, h("span", { class: "key" }, key), h("span", { class: "muted" }, Array.isArray(inner) ? ` [${inner.length}]` : ` {${Object.keys(inner).length}}`)),
              tree(inner, { open, depth: depth + 1 }),
            ),
          );
        }
        return h("li", {}, h("span", { class: "key" }, key), ": ", h("span", { class: `val t-${inner === null ? "null" : typeof inner}` }, inner === null ? "null" : typeof inner === "string" ? JSON.stringify(inner) : formatValue(inner)));
      }),
    );
  }
  return h("span", { class: "val" }, value === undefined ? "" : JSON.stringify(value));
}
