// In-page questions before an edit (a modal <dialog>): tags to add, "delete these?".
// Why not window.prompt/confirm: they freeze the page, its polling included, cannot
// be styled like the board, and Chromium lets a user silence them for the site.

import { h } from "./format.js";

// ask({title, message, input: {placeholder}|null, ok, danger}) -> Promise of the
// text typed (with an input), true (without one), or null when cancelled (Cancel,
// Escape). Enter in the input is OK.
export function ask({ title, message = "", input = null, ok = "OK", danger = false }) {
  return new Promise((resolve) => {
    const field = input && h("input", {
      type: "text", class: "ask-input", autocomplete: "off", spellcheck: "false",
      placeholder: input.placeholder || "", "aria-label": title,
    });
    const cancel = h("button", { type: "button", class: "ask-cancel", onclick: () => dialog.close("cancel") }, "Cancel");
    const dialog = h("dialog", { class: "ask", "aria-label": title },
      h("form", { method: "dialog" },
        h("h2", {}, title),
        message && h("p", {}, message),
        field,
        h("div", { class: "ask-buttons" },
          cancel,
          h("button", { type: "submit", value: "ok", class: danger ? "ask-ok danger" : "ask-ok" }, ok),
        ),
      ),
    );
    if (field) {
      field.addEventListener("keydown", (event) => {
        if (event.key === "Enter") {
          event.preventDefault();
          dialog.close("ok");
        }
      });
    }
    dialog.addEventListener("close", () => {
      const accepted = dialog.returnValue === "ok";
      dialog.remove();
      resolve(accepted ? (field ? field.value : true) : null);
    });
    document.body.append(dialog);
    dialog.showModal();
    // A destructive question starts on Cancel, so that a stray Enter keeps the runs.
    (field || (danger ? cancel : dialog.querySelector(".ask-ok"))).focus();
  });
}
