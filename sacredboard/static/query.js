// The table's filters as one query of the sacred.store language (docs/store.md).
//
// A filter row's field: a bare name means config.<name> ("lr", "model.hidden"); a
// leading dot means the record root (".result", ".info.my_dict.my_key",
// ".experiment.name", ".host.hostname").

export const OPERATORS = [
  ["=", "=="],
  ["≠", "!="],
  ["<", "<"],
  [">", ">"],
  ["≥", ">="],
  ["≤", "<="],
  ["regex", "=~"],
];
const OP = Object.fromEntries(OPERATORS);

export function fieldPath(field) {
  const name = field.trim();
  if (name.startsWith(".")) return name.slice(1);
  return `config.${name}`;
}

export function literal(text, op) {
  const value = text.trim();
  if (op !== "=~") {
    if (/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(value)) return value;
    if (["true", "false", "null"].includes(value)) return value;
  }
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

// The captured output is not in the query language (it is not loaded with the runs);
// the board searches it itself: "=" contains, "≠" does not contain, "regex" matches.
const isOutput = (row) => (row.field || "").trim() === ".captured_out";

export function outputParams(rows) {
  const row = rows.find(isOutput);
  if (!row) return {};
  const escaped = (row.value || "").replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return { output: row.op === "regex" ? row.value : escaped, output_not: row.op === "≠" ? 1 : "" };
}

export function rowQuery(row) {
  if (!row.field || !row.field.trim() || isOutput(row)) return "";
  const op = OP[row.op] || "==";
  return `${fieldPath(row.field)} ${op} ${literal(row.value ?? "", op)}`;
}

// {statuses: [...], rows: [{field, op, value}], extra: [conditions], text: "free
// query"} -> query string. The free text comes last, so that an error's position
// in it is known (table.js points at it).
export function buildQuery({ statuses = [], rows = [], extra = [], text = "" }) {
  const parts = [];
  if (statuses.length) parts.push(`status in [${statuses.map((s) => `"${s}"`).join(", ")}]`);
  for (const row of rows) {
    const q = rowQuery(row);
    if (q) parts.push(q);
  }
  for (const q of extra) if (q) parts.push(q);
  if (text.trim()) parts.push(`(${text.trim()})`);
  return parts.join(" and ");
}
