// Artifact previews that are more than text: CSV/TSV and JSON (an array of objects)
// as a table, any other JSON value as a collapsible tree.

import { h } from "./format.js";
import { tree } from "./tree.js";

export const MAX_ROWS = 500;

// RFC 4180: fields separated by the delimiter, records by CRLF or LF; a quoted field
// may hold delimiters, line breaks and doubled quotes (""). Returns
// {rows: the first `limit` records, total: the number of records}.
export function parseCSV(text, delimiter = ",", limit = Infinity) {
  const rows = [];
  let total = 0;
  let row = [];
  let field = "";
  let quoted = false;
  let i = 0;
  const n = text.length;
  const endRow = () => {
    row.push(field);
    field = "";
    if (total < limit) rows.push(row);
    total++;
    row = [];
  };
  if (text.charCodeAt(0) === 0xfeff) i = 1; // a byte-order mark
  while (i < n) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else field += c;
      i++;
    } else if (c === '"' && field === "") {
      quoted = true;
      i++;
    } else if (c === delimiter) {
      row.push(field);
      field = "";
      i++;
    } else if (c === "\r" && text[i + 1] === "\n") {
      endRow();
      i += 2;
    } else if (c === "\n" || c === "\r") {
      endRow();
      i++;
    } else {
      field += c;
      i++;
    }
  }
  if (field !== "" || row.length || quoted) endRow(); // a last record without a line break
  return { rows, total };
}

function table(header, rows, more) {
  return h("div", { class: "table-preview" },
    h("table", { class: "artifact-table" },
      h("thead", {}, h("tr", {}, header.map((name) => h("th", {}, name)))),
      h("tbody", {}, rows.map((cells) => h("tr", {}, header.map((_, k) => h("td", {}, cells[k] ?? ""))))),
    ),
    more > 0 ? h("div", { class: "muted more-rows" }, `… ${more.toLocaleString()} more rows`) : null,
  );
}

export function csvTable(text, delimiter = ",") {
  const { rows, total } = parseCSV(text, delimiter, MAX_ROWS + 1);
  if (!rows.length) return h("span", { class: "muted" }, "Empty file.");
  const [header, ...body] = rows;
  const width = Math.max(...rows.map((r) => r.length));
  const names = Array.from({ length: width }, (_, k) => header[k] ?? "");
  return table(names, body, total - 1 - body.length);
}

const isRecord = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

// null when the text is not JSON (or, for .jsonl, a line is not).
export function jsonPreview(text, lines = false) {
  let value;
  try {
    value = lines ? text.split(/\r?\n/).filter((l) => l.trim()).map((l) => JSON.parse(l)) : JSON.parse(text);
  } catch {
    return null;
  }
  if (Array.isArray(value) && value.length && value.every(isRecord)) {
    const keys = [];
    const seen = new Set();
    for (const record of value) {
      for (const key of Object.keys(record)) {
        if (!seen.has(key)) {
          seen.add(key);
          keys.push(key);
        }
      }
    }
    const shown = value.slice(0, MAX_ROWS);
    // Strings as they are, anything else as JSON (numbers unrounded, null as null).
    const cell = (v) => (typeof v === "string" ? v : JSON.stringify(v));
    return table(keys, shown.map((record) => keys.map((k) => (k in record ? cell(record[k]) : ""))), value.length - shown.length);
  }
  return h("div", { class: "json-preview" }, tree(value, { open: 2 }));
}
