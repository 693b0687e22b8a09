// Syntax highlighting of stored sources with the vendored highlight.js (Python).

import hljs from "./vendor/highlight.core.min.js";
import python from "./vendor/highlight.python.min.js";

hljs.registerLanguage("python", python);

export function highlight(code) {
  try {
    hljs.highlightElement(code);
  } catch (_) {
    // leave the plain text
  }
}
