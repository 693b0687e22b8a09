// The run table: status legend/filter, property filter rows, a free query, server
// side sorting and keyset paging, selection for compare/tag/delete, export.

import { getJSON, send } from "./api.js";
import { ask } from "./dialog.js";
import { STATUSES, ago, columnFormat, download, fill, formatTime, formatValue, h, statusBadge } from "./format.js";
import { OPERATORS, buildQuery, fieldPath, outputParams } from "./query.js";
import { columnPicker } from "./picker.js";
import { brushQuery, readBrushes, shortLabel } from "./scales.js";

// The views over the filtered runs besides the table, loaded on first use.
const VIEWS = [
  ["runs", "Runs"],
  ["groups", "Groups"],
  ["scatter", "Scatter"],
  ["parallel", "Parallel coordinates"],
];
const EXPLORE_REFRESH_MS = 5000;
const listParam = (params, key) => (params.get(key) || "").split(",").map((s) => s.trim()).filter(Boolean);
function jsonParam(params, key, fallback) {
  try {
    return JSON.parse(params.get(key)) ?? fallback;
  } catch (_) {
    return fallback;
  }
}

const COLUMNS = [
  ["id", "Id", "id"],
  ["experiment", "Experiment", "experiment.name"],
  ["command", "Command", "command"],
  ["start_time", "Started", "start_time"],
  ["heartbeat", "Last activity", "heartbeat"],
  ["host", "Host", "host.hostname"],
  ["result", "Result", "result"],
  ["status", "Status", "status"],
];

// "loss" shows a metric's last value; "loss:min" and "loss:max" its extremes.
// Its sort key is the store's metrics.<name>.<stat>, which a query path can spell
// only for names made of letters, digits, _ and - (dots between them).
function metricColumn(text) {
  const match = /^(.*):(last|min|max)$/.exec(text);
  const [name, part] = match ? [match[1], match[2]] : [text, "last"];
  const sortable = /^[A-Za-z0-9_][A-Za-z0-9_-]*(\.[A-Za-z0-9_][A-Za-z0-9_-]*)*$/.test(name);
  return { name, part, label: `${name} (${part})`, key: sortable ? `metrics.${name}.${part}` : null };
}
const splitList = (text) => text.split(",").map((s) => s.trim()).filter(Boolean);

function readState(params) {
  let rows = [];
  for (const raw of params.getAll("f")) {
    try {
      const [field, op, value] = JSON.parse(raw);
      rows.push({ field, op, value });
    } catch (_) {
      // a hand-edited URL: ignore the broken row
    }
  }
  return {
    statuses: (params.get("status") || "").split(",").filter(Boolean),
    rows,
    text: params.get("q") || "",
    sort: params.get("sort") || "-id",
    cursor: params.get("cursor") || "",
    limit: Number(params.get("limit")) || 50,
    metrics: (params.get("metrics") || "").split(",").filter(Boolean),
    // Path columns, written like a filter row's field: "lr", ".info.best_epoch".
    columns: (params.get("cols") || "").split(",").filter(Boolean),
    view: VIEWS.some(([v]) => v === params.get("view")) ? params.get("view") : "runs",
    // Ranges (or sets of categories) brushed in the scatter plot or the parallel
    // coordinates: conditions of the table's query.
    brushes: readBrushes(params),
    scatter: { x: params.get("sx") || "", y: params.get("sy") || "result", color: params.get("sc") || "", logx: params.get("slx") === "1", logy: params.get("sly") === "1" },
    parallel: { axes: listParam(params, "pa"), log: jsonParam(params, "plog", {}), color: params.get("pc") || "", seed: params.get("pseed") === "1" },
    groups: { by: listParam(params, "gby"), gsort: params.get("gsort") || "", gmetric: params.get("gm") || "", band: params.get("gband") || "std", indiv: params.get("gruns") === "1", plotted: jsonParam(params, "gplot", []) },
  };
}

export function tableView(root, params, ctx) {
  const state = readState(params);
  const previous = []; // cursors of earlier pages (this session)
  // The selected runs are part of the view (a shared link selects them too).
  const selected = new Set((params.get("sel") || "").split(",").filter(Boolean));
  let page = { runs: [], total: 0, next: null };
  let generation = 0;

  function saveState(push = false) {
    ctx.setParams(
      {
        status: state.statuses.join(","),
        f: state.rows.filter((r) => r.field).map((r) => JSON.stringify([r.field, r.op, r.value])),
        q: state.text,
        sort: state.sort === "-id" ? "" : state.sort,
        cursor: state.cursor,
        limit: state.limit === 50 ? "" : state.limit,
        metrics: state.metrics.join(","),
        cols: state.columns.join(","),
        sel: [...selected].join(","),
        view: state.view === "runs" ? "" : state.view,
        brush: state.brushes.length ? JSON.stringify(state.brushes) : "",
        sx: state.scatter.x,
        sy: state.scatter.y === "result" ? "" : state.scatter.y,
        sc: state.scatter.color,
        slx: state.scatter.logx ? "1" : "",
        sly: state.scatter.logy ? "1" : "",
        pa: state.parallel.axes.join(","),
        plog: Object.keys(state.parallel.log).length ? JSON.stringify(state.parallel.log) : "",
        pc: state.parallel.color,
        pseed: state.parallel.seed ? "1" : "",
        gby: state.groups.by.join(","),
        gsort: state.groups.gsort,
        gm: state.groups.gmetric,
        gband: state.groups.band === "std" ? "" : state.groups.band,
        gruns: state.groups.indiv ? "1" : "",
        gplot: state.groups.plotted.length ? JSON.stringify(state.groups.plotted) : "",
      },
      { push },
    );
  }

  // The table's query: the filter and the brushes. The scatter plot and the parallel
  // coordinates show the filter without the brushes (the runs outside them fade).
  const tableQuery = () => buildQuery({ ...state, extra: state.brushes.map(brushQuery) });

  // -- the controls ---------------------------------------------------------------------

  const legend = h(
    "div",
    { class: "legend", role: "group", "aria-label": "Status filter" },
    STATUSES.map(([status, label]) =>
      h(
        "label",
        { class: `chip s-${status}` },
        h("input", {
          type: "checkbox",
          value: status,
          checked: state.statuses.includes(status),
          onchange: (e) => {
            state.statuses = STATUSES.map(([s]) => s).filter((s) =>
              s === status ? e.target.checked : state.statuses.includes(s),
            );
            changed();
          },
        }),
        h("span", { class: "dot" }),
        label,
      ),
    ),
  );

  const keysList = h("datalist", { id: "filter-keys" });
  // Autocompletion of config keys, fetched when a field is first edited (not with
  // the first page, which it would slow down).
  let keysLoaded = false;
  function loadKeys() {
    if (keysLoaded) return;
    keysLoaded = true;
    getJSON("/api/keys", { prefix: "config" })
      .then((keys) => fill(keysList, ...keys.map((k) => h("option", { value: k.replace(/^config\./, "") }))))
      .catch(() => {});
  }
  const rowsBox = h("div", { class: "filter-rows" });
  function renderRows() {
    fill(rowsBox, 
      ...state.rows.map((row, i) =>
        h(
          "div",
          { class: "filter-row" },
          h("input", {
            class: "f-field",
            onkeydown: (e) => e.key === "Enter" && changed(),
            placeholder: "lr, model.hidden, .result, .info.key",
            onfocus: loadKeys,
            list: "filter-keys",
            value: row.field,
            oninput: (e) => {
              row.field = e.target.value;
              changedSoon();
            },
          }),
          h(
            "select",
            {
              class: "f-op",
              onchange: (e) => {
                row.op = e.target.value;
                changed();
              },
            },
            OPERATORS.map(([label]) => h("option", { value: label, selected: row.op === label }, label)),
          ),
          h("input", {
            class: "f-value",
            onkeydown: (e) => e.key === "Enter" && changed(),
            placeholder: "value",
            value: row.value,
            oninput: (e) => {
              row.value = e.target.value;
              changedSoon();
            },
          }),
          h(
            "button",
            {
              class: "icon",
              title: "Remove this filter",
              onclick: () => {
                state.rows.splice(i, 1);
                renderRows();
                changed();
              },
            },
            "×",
          ),
        ),
      ),
    );
  }
  const addRow = h(
    "button",
    {
      class: "add-filter",
      onclick: () => {
        state.rows.push({ field: "", op: "=", value: "" });
        renderRows();
        rowsBox.querySelector(".filter-row:last-child .f-field").focus();
      },
    },
    "+ Filter",
  );
  const queryBox = h("input", {
    class: "query",
    onkeydown: (e) => e.key === "Enter" && changed(),
    placeholder: 'Query: config.lr < 0.1 and result exists or experiment.name =~ "^mnist"',
    value: state.text,
    oninput: (e) => {
      state.text = e.target.value;
      changedSoon();
    },
  });

  // A query error is shown right under the query box, pointing at the offending
  // text; the table keeps the last good results (dimmed) instead of going blank.
  const queryProblem = h("div", { class: "query-problem", hidden: true });
  const actions = h("div", { class: "actions" });
  const head = h("thead");
  const body = h("tbody");
  const table = h("table", { class: "runs" }, head, body);
  const footer = h("div", { class: "pager" });
  // Records the store could not read (a run.json cut off mid-write, …): counted under
  // the table, listed with their reasons on demand (/api/damaged).
  const damagedBox = h("div", { class: "damaged", hidden: true });
  let damagedOpen = false;
  async function loadDamaged() {
    try {
      const answer = await getJSON("/api/damaged");
      renderDamaged(answer);
    } catch (_) {
      damagedBox.hidden = true; // an older server: nothing to say
    }
  }
  function renderDamaged(answer) {
    damagedBox.hidden = !answer.count;
    if (!answer.count) return;
    const n = answer.count;
    fill(
      damagedBox,
      h("button", { class: "small damaged-toggle", onclick: () => { damagedOpen = !damagedOpen; renderDamaged(answer); } }, `⚠ ${n} record${n === 1 ? "" : "s"} could not be read${damagedOpen ? "" : " — show"}`),
      damagedOpen
        ? h("table", { class: "runs damaged-list" },
          h("thead", {}, h("tr", {}, h("th", {}, "run"), h("th", {}, "file"), h("th", {}, "problem"))),
          h("tbody", {}, answer.runs.map((r) => h("tr", { class: "damaged-run", dataset: { id: String(r.id) } }, h("td", {}, String(r.id)), h("td", { class: "path" }, r.file || ""), h("td", { title: r.message || "" }, r.problem || r.message || "")))))
        : null,
    );
  }
  // A comma-separated list in the state (metric or path columns), applied on change.
  const listInput = (key, attrs) =>
    h("input", {
      ...attrs,
      value: state[key].join(","),
      onchange: (e) => {
        state[key] = splitList(e.target.value);
        changed();
      },
    });
  const metricsInput = listInput("metrics", {
    class: "metric-cols",
    placeholder: "metric columns: loss, acc:max",
    title: "Metrics to show: name (last value), name:min or name:max",
  });
  const columnsInput = listInput("columns", {
    class: "path-cols",
    placeholder: "columns: lr, .info.best_epoch",
    title: "Values to show as columns: a config key, or a record path after a dot (.host.os)",
  });

  const picker = columnPicker(state, () => {
    columnsInput.value = state.columns.join(",");
    metricsInput.value = state.metrics.join(",");
    changed();
  });

  // -- the other views: groups, scatter, parallel coordinates ------------------------

  const tabs = h("nav", { class: "view-tabs", role: "tablist" });
  const explorePanel = h("div", { class: "explore" });
  const brushBar = h("div", { class: "brushes" });
  const tableWrap = h("div", { class: "table-wrap" }, table);
  let explore = null; // the open view's object: {refresh, brushesChanged, destroy}
  let opening = 0;

  function renderTabs() {
    fill(tabs, ...VIEWS.map(([view, label]) => h("button", { class: `tab${state.view === view ? " active" : ""}`, role: "tab", "aria-selected": state.view === view ? "true" : "false", dataset: { view }, onclick: () => openView(view) }, label)));
  }

  function renderBrushes() {
    fill(
      brushBar,
      state.brushes.length ? h("span", { class: "muted" }, "Brushed: ") : null,
      ...state.brushes.map((b, i) =>
        h("span", { class: "chip brush", dataset: { path: b.path } },
          `${shortLabel(b.path)} ${b.values ? `∈ {${b.values.map((v) => formatValue(v)).join(", ")}}` : `${formatValue(b.lo)} … ${formatValue(b.hi)}`}`,
          h("button", { class: "icon", title: "Remove this brush", onclick: () => setBrushes(state.brushes.filter((_, j) => j !== i)) }, "×")),
      ),
      state.brushes.length > 1 ? h("button", { class: "small", onclick: () => setBrushes([]) }, "clear") : null,
    );
  }

  function setBrushes(brushes) {
    state.brushes = brushes;
    if (explore && explore.brushesChanged) explore.brushesChanged();
    renderBrushes();
    state.cursor = "";
    previous.length = 0;
    saveState();
    load();
  }

  async function openView(view) {
    const mine = ++opening;
    if (explore) explore.destroy();
    explore = null;
    state.view = view;
    saveState();
    renderTabs();
    const grouped = view === "groups";
    tableWrap.hidden = grouped;
    footer.hidden = grouped;
    actions.hidden = grouped;
    if (!grouped && stale) load();
    if (view === "runs") return;
    // Shared by the views (a prototype: the brushes getter stays live).
    const shared = {
      get brushes() {
        return state.brushes;
      },
      setBrushes,
      save: () => saveState(),
      navigate: (url) => ctx.navigate(url),
      keys: "filter-keys",
    };
    let make;
    if (view === "scatter") {
      const { scatterView } = await import("./scatter.js");
      make = () => scatterView(explorePanel, Object.assign(Object.create(shared), { state: state.scatter, query: () => buildQuery(state) }));
    } else if (view === "parallel") {
      const { parallelView } = await import("./parallel.js");
      make = () => parallelView(explorePanel, Object.assign(Object.create(shared), { state: state.parallel, query: () => buildQuery(state) }));
    } else {
      const { groupsView } = await import("./groups.js");
      make = () => groupsView(explorePanel, Object.assign(Object.create(shared), { state: state.groups, query: tableQuery, metrics: state.metrics }));
    }
    if (mine === opening) explore = make();
    // After the view has sent its own request: the store is read one request at a
    // time, and the keys (for the pickers) took 0.6-1 s before the points on 100,000 runs.
    loadKeys();
  }

  root.append(
    h(
      "section",
      { class: "filters" },
      legend,
      rowsBox,
      h("div", { class: "filter-line" }, addRow, queryBox, columnsInput, metricsInput, picker),
      queryProblem,
      keysList,
    ),
    tabs,
    explorePanel,
    brushBar,
    actions,
    tableWrap,
    footer,
    damagedBox,
  );
  renderRows();
  renderTabs();
  renderBrushes();

  // -- loading ------------------------------------------------------------------------

  let timer = null;
  function changedSoon() {
    clearTimeout(timer);
    timer = setTimeout(changed, 300);
  }
  function changed() {
    clearTimeout(timer);
    timer = null;
    state.cursor = "";
    previous.length = 0;
    saveState();
    load();
    if (explore) explore.refresh();
  }

  // The total is counted apart (on a large store a filtered count costs more than the
  // page itself) and only when the filter or the store changed.
  let counted = { query: null, total: null };
  async function countRuns(query, mine) {
    try {
      const { total } = await getJSON("/api/count", { filter: tableQuery(), ...outputParams(state.rows) });
      if (mine !== generation) return;
      counted = { query, total };
      page.total = total;
      render();
    } catch (_) {
      // the page request reports query errors
    }
  }

  // The group view hides the table: it is not loaded (the server has the groups to
  // compute), until another tab shows it again.
  let stale = false;
  async function load(recount = true) {
    const mine = ++generation;
    if (state.view === "groups") {
      stale = true;
      return;
    }
    stale = false;
    const query = tableQuery() + JSON.stringify(outputParams(state.rows));
    try {
      const answer = await getJSON("/api/runs", {
        filter: tableQuery(),
        sort: state.sort,
        limit: state.limit,
        cursor: state.cursor,
        metrics: metricNames().join(","),
        columns: columnPaths().join(","),
        total: 0,
        ...outputParams(state.rows),
      });
      if (mine !== generation) return; // a newer request was sent meanwhile
      page = answer;
      page.total = counted.query === query ? counted.total : null;
      // What the rows show, for tests and benchmarks waiting for a re-render.
      table.dataset.query = tableQuery();
      table.dataset.sort = state.sort;
      ctx.error("");
      root.classList.remove("query-error");
      queryProblem.hidden = true;
      render();
      if (recount || counted.query !== query) countRuns(query, mine);
    } catch (error) {
      if (mine !== generation) return;
      root.classList.add("query-error");
      showQueryProblem(error.message);
    }
  }

  // The server's message ends with the whole query and a caret under the offending
  // character ("  <query>\n  ^"); the caret is moved under the query box's own text
  // when the error is there (the status and filter rows come first in the query).
  function showQueryProblem(message) {
    const lines = message.split("\n");
    const full = tableQuery();
    const caretLine = lines.length >= 3 && /^\s*\^$/.test(lines[lines.length - 1]) ? lines[lines.length - 1] : null;
    const summary = caretLine ? lines.slice(0, -2).join("\n") : message;
    const position = caretLine ? caretLine.indexOf("^") - 2 : -1;
    const textStart = state.text.trim() ? full.length - state.text.trim().length - 1 : -1;
    const offset = textStart >= 0 && position >= textStart ? position - textStart + (state.text.length - state.text.trimStart().length) : -1;
    const parts = [h("strong", {}, "Query error: "), summary];
    if (offset >= 0 && offset <= state.text.length) {
      parts.push(h("pre", { class: "query-caret" }, `${state.text}\n${" ".repeat(offset)}^`));
      if (document.activeElement !== queryBox) queryBox.setSelectionRange(offset, Math.min(state.text.length, offset + 1));
      queryProblem.dataset.offset = String(offset);
    } else {
      if (caretLine) parts.push(h("pre", { class: "query-caret" }, lines.slice(-2).join("\n")));
      delete queryProblem.dataset.offset;
    }
    parts.push(h("span", { class: "muted" }, page.runs.length ? " The table shows the last results that matched." : ""));
    fill(queryProblem, ...parts);
    queryProblem.hidden = false;
  }

  const columnPaths = () => state.columns.map(fieldPath);
  const metricNames = () => [...new Set(state.metrics.map((m) => metricColumn(m).name))];

  function sortBy(key) {
    state.sort = state.sort === key ? `-${key}` : state.sort === `-${key}` ? key : key === "id" ? "-id" : key;
    changed();
  }

  function render() {
    const sortKey = state.sort.replace(/^-/, "");
    const arrow = state.sort.startsWith("-") ? " ▼" : " ▲";
    const metricCols = state.metrics.map(metricColumn);
    const pathCols = state.columns.map((field) => ({ field, path: fieldPath(field) }));
    fill(head, 
      h(
        "tr",
        {},
        h(
          "th",
          { class: "sel" },
          h("input", {
            type: "checkbox",
            title: "Select all on this page",
            checked: page.runs.length > 0 && page.runs.every((r) => selected.has(String(r.id))),
            onchange: (e) => {
              for (const r of page.runs) e.target.checked ? selected.add(String(r.id)) : selected.delete(String(r.id));
              saveState();
              render();
            },
          }),
        ),
        COLUMNS.map(([, label, key]) =>
          h("th", { class: "sortable", dataset: { sort: key }, onclick: () => sortBy(key) }, label, sortKey === key ? arrow : ""),
        ),
        pathCols.map(({ field, path }) =>
          h("th", { class: "sortable path-col", dataset: { sort: path }, title: path, onclick: () => sortBy(path) }, field, sortKey === path ? arrow : ""),
        ),
        metricCols.map(({ label, key }) =>
          key
            ? h("th", { class: "sortable metric-col", dataset: { sort: key }, title: key, onclick: () => sortBy(key) }, label, sortKey === key ? arrow : "")
            : h("th", { class: "metric-col", title: "Not sortable: the query language cannot name this metric" }, label),
        ),
        h("th", {}, "Tags"),
      ),
    );
    const now = Date.now();
    // One number format per column (the same decimals down a column).
    const resultFormat = columnFormat(page.runs.map((r) => r.result));
    const pathFormats = pathCols.map(({ path }) => columnFormat(page.runs.map((r) => (r.columns || {})[path])));
    const metricFormats = metricCols.map(({ name, part }) => columnFormat(page.runs.map((r) => ((r.metrics || {})[name] || {})[part])));
    fill(body, 
      ...page.runs.map((run) => {
        const id = String(run.id);
        return h(
          "tr",
          { class: `run s-${run.status}`, dataset: { id } },
          h(
            "td",
            { class: "sel" },
            h("input", {
              type: "checkbox",
              checked: selected.has(id),
              onchange: (e) => {
                e.target.checked ? selected.add(id) : selected.delete(id);
                saveState();
                renderActions();
              },
            }),
          ),
          h("td", { class: "id" }, h("a", { href: `/run/${encodeURIComponent(id)}`, "data-nav": true }, id)),
          h("td", {}, run.experiment ?? ""),
          h("td", {}, run.command ?? ""),
          h("td", { title: run.start_time || "" }, formatTime(run.start_time)),
          h("td", { title: formatTime(run.heartbeat) }, ago(run.heartbeat || run.stop_time || run.queue_time, now)),
          h("td", {}, run.host ?? ""),
          h("td", { class: "num" }, resultFormat(run.result)),
          h("td", {}, statusBadge(run.status)),
          pathCols.map(({ path }, k) => h("td", { class: "path-col" }, pathFormats[k]((run.columns || {})[path]))),
          metricCols.map(({ name, part }, k) => {
            const m = (run.metrics || {})[name];
            return h("td", { class: "num metric-col", title: m ? `last ${m.last}, min ${m.min}, max ${m.max}, ${m.points} points` : "" }, m ? metricFormats[k](m[part]) : "");
          }),
          h("td", { class: "tags" }, (run.tags || []).map((t) => h("span", { class: "tag" }, t))),
        );
      }),
    );
    if (!page.runs.length) {
      body.append(h("tr", {}, h("td", { colspan: COLUMNS.length + 2 + pathCols.length + metricCols.length, class: "empty" }, "No runs match.")));
    }
    const first = previous.length * state.limit + (page.runs.length ? 1 : 0);
    fill(footer, 
      h("span", { class: "count" }, `${first}–${previous.length * state.limit + page.runs.length} of ${page.total === null || page.total === undefined ? "…" : page.total.toLocaleString("en")}`),
      h("button", { disabled: !state.cursor, onclick: prevPage }, "‹ Prev"),
      h("button", { disabled: !page.next, onclick: nextPage }, "Next ›"),
    );
    renderActions();
  }

  function nextPage() {
    previous.push(state.cursor);
    state.cursor = page.next;
    saveState();
    load(false);
  }
  function prevPage() {
    state.cursor = previous.pop() || "";
    saveState();
    load(false);
  }

  // -- selection and edits ------------------------------------------------------------

  function renderActions() {
    const ids = [...selected];
    const editable = !ctx.health.read_only;
    fill(actions, 
      h("span", { class: "muted" }, ids.length ? `${ids.length} selected` : "Select runs to compare, tag or delete"),
      h("button", { disabled: ids.length < 2 || ids.length > 50, onclick: () => ctx.navigate(`/compare?ids=${ids.join(",")}`) }, "Compare"),
      editable && h("button", { disabled: !ids.length, onclick: () => tag(ids) }, "Tag…"),
      editable && h("button", { class: "danger", disabled: !ids.length, onclick: () => remove(ids) }, "Delete…"),
      h("span", { class: "spacer" }),
      h("button", { onclick: () => exportView("csv") }, "Export CSV"),
      h("button", { onclick: () => exportView("json") }, "Export JSON"),
    );
  }

  async function tag(ids) {
    const text = await ask({
      title: `Tag ${ids.length} run${ids.length === 1 ? "" : "s"}`,
      message: "Tags to add, comma separated; prefix a tag with - to remove it.",
      input: { placeholder: "paper, baseline, -draft" },
      ok: "Apply",
    });
    if (!text) return;
    const words = text.split(",").map((s) => s.trim()).filter(Boolean);
    try {
      await send("POST", "/api/edit/tags", {
        ids,
        add: words.filter((w) => !w.startsWith("-")),
        remove: words.filter((w) => w.startsWith("-")).map((w) => w.slice(1)),
      });
      await load();
    } catch (error) {
      ctx.error(error.message);
    }
  }

  async function remove(ids) {
    // Runs that other runs consumed (use_run) are named in the question (the server
    // says which, deleting nothing), and deleted only when the user agrees to that.
    let consumed = null;
    try {
      consumed = (await send("POST", "/api/edit/delete", { ids, dry_run: true })).message;
    } catch (error) {
      ctx.error(error.message);
      return;
    }
    const plural = ids.length === 1 ? "" : "s";
    const sure = await ask({
      title: consumed ? `Move ${ids.length} consumed run${plural} to the trash?` : `Move ${ids.length} run${plural} to the trash?`,
      message: `${consumed ? `${consumed}. ` : ""}The runs leave every view; the Trash page brings them back until the trash is emptied.`,
      ok: consumed ? "Move anyway" : "Move to trash",
      danger: true,
    });
    if (!sure) return;
    try {
      await send("POST", "/api/edit/delete", { ids, confirm_consumed: Boolean(consumed) });
      ids.forEach((id) => selected.delete(id));
      saveState();
      await load();
    } catch (error) {
      ctx.error(error.message);
    }
  }

  function exportView(format) {
    const qs = new URLSearchParams({
      filter: tableQuery(),
      sort: state.sort,
      format,
      columns: columnPaths().join(","),
      metrics: metricNames().join(","),
      ...outputParams(state.rows),
    });
    window.location.href = `/api/export?${qs}`;
  }

  // A store change while a filter is being typed waits for the pause: loading now
  // would show rows for a half-typed filter that the URL does not hold yet.
  // A store change refreshes the table at once, an open scatter, parallel or group
  // view at most every EXPLORE_REFRESH_MS: they read every matching run, and a store
  // that workers write to changes every second.
  let exploreRefreshed = 0;
  function refresh() {
    if (timer !== null) return undefined;
    if (explore && Date.now() - exploreRefreshed > EXPLORE_REFRESH_MS) {
      exploreRefreshed = Date.now();
      explore.refresh();
    }
    loadDamaged();
    return load();
  }

  load();
  loadDamaged();
  if (state.view !== "runs") openView(state.view);
  return {
    refresh,
    healthChanged: renderActions,
    destroy() {
      clearTimeout(timer);
      picker.destroy();
      if (explore) explore.destroy();
    },
  };
}
