// The trash (/trash): runs that deletion moved out of every view, each with Restore
// (not on a read-only board). Emptying it for good is left to `sacred empty-trash`.

import { getJSON, send } from "./api.js";
import { ago, fill, formatTime, h } from "./format.js";

export function trashView(root, ctx) {
  let loaded = 0;

  async function load() {
    const mine = ++loaded;
    let answer;
    try {
      answer = await getJSON("/api/trash");
    } catch (error) {
      ctx.error(error.message);
      return;
    }
    if (mine !== loaded) return;
    const editable = !answer.read_only;
    const rows = answer.runs.map((run) =>
      h("tr", { class: "trashed", "data-id": String(run.id) },
        h("td", {}, String(run.id)),
        h("td", {}, run.experiment || "?"),
        h("td", { title: run.trashed_at || "" }, run.trashed_at ? `${formatTime(run.trashed_at)} (${ago(run.trashed_at)})` : "unknown"),
        editable && h("td", {}, h("button", { class: "small restore", onclick: () => restore(run.id) }, "Restore")),
      ),
    );
    fill(root,
      h("h1", { class: "page-title" }, "Trash"),
      h("p", { class: "muted" }, editable
        ? "Deleted runs wait here, out of every view and query, until the trash is emptied (sacred empty-trash STORE)."
        : "This board is read-only: it shows the trash but cannot restore runs."),
      rows.length
        ? h("table", { class: "runs trash" },
            h("thead", {}, h("tr", {}, h("th", {}, "Id"), h("th", {}, "Experiment"), h("th", {}, "Trashed"), editable && h("th", {}, ""))),
            h("tbody", {}, rows))
        : h("p", { class: "trash-empty" }, "The trash is empty."),
    );
  }

  async function restore(id) {
    try {
      await send("POST", "/api/edit/restore", { ids: [id] });
      await load();
    } catch (error) {
      ctx.error(error.message);
    }
  }

  load();
  return { refresh: load };
}
