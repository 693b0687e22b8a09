// The Views menu of the header: the board's URL state saved under a name in the
// store (every board on it lists them), opened with a click; a read-only board lists
// them but cannot save or delete.

import { getJSON, send } from "./api.js";
import { ask } from "./dialog.js";
import { fill, h } from "./format.js";

// A state is {path, params: {key: value or [values]}}; the page cursor is left out
// (a saved view opens on its first page).
export function currentState() {
  const params = {};
  for (const [key, value] of new URLSearchParams(location.search)) {
    if (key === "cursor") continue;
    if (key in params) params[key] = [].concat(params[key], value);
    else params[key] = value;
  }
  return { path: location.pathname, params };
}

export function urlOf(state) {
  const qs = new URLSearchParams();
  for (const [key, value] of Object.entries(state.params || {})) {
    for (const one of [].concat(value)) qs.append(key, String(one));
  }
  const path = typeof state.path === "string" && state.path.startsWith("/") ? state.path : "/";
  return path + (qs.toString() ? `?${qs}` : "");
}

export function viewsMenu(menu, ctx) {
  const body = menu.querySelector(".menu-body");

  async function render() {
    let answer;
    try {
      answer = await getJSON("/api/views");
    } catch (error) {
      fill(body, h("div", { class: "error" }, error.message));
      return;
    }
    const names = Object.keys(answer.views);
    fill(body,
      answer.read_only
        ? h("div", { class: "muted" }, "Read-only board: views open here but cannot be saved.")
        : h("button", { type: "button", class: "small view-save", onclick: save }, "Save current view as…"),
      names.length
        ? h("ul", { class: "view-list" }, names.map((name) => {
            const url = urlOf(answer.views[name]);
            return h("li", { class: "saved-view", "data-name": name },
              h("a", { href: url, class: "view-open", onclick: (event) => open(event, url) }, name),
              !answer.read_only && h("button", { type: "button", class: "icon view-delete", title: `Delete the view "${name}"`, onclick: () => remove(name) }, "×"),
            );
          }))
        : h("div", { class: "muted" }, "No saved views yet."),
    );
  }

  function open(event, url) {
    if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    menu.open = false;
    ctx.navigate(url);
  }

  async function save() {
    menu.open = false;
    const name = await ask({
      title: "Save this view",
      message: "A name for the current filters, sort, columns and tab. Every board on this store lists it.",
      input: { placeholder: "best adam runs" },
      ok: "Save",
    });
    if (!name || !name.trim()) return;
    try {
      await send("PUT", `/api/views/${encodeURIComponent(name.trim())}`, { state: currentState() });
    } catch (error) {
      ctx.error(error.message);
    }
  }

  async function remove(name) {
    try {
      await send("DELETE", `/api/views/${encodeURIComponent(name)}`);
    } catch (error) {
      ctx.error(error.message);
    }
    render();
  }

  menu.addEventListener("toggle", () => menu.open && render());
  // A click elsewhere closes the menu, as menus do.
  document.addEventListener("click", (event) => {
    if (menu.open && !menu.contains(event.target)) menu.open = false;
  });
}
