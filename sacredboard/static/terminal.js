// Captured output as a terminal shows it: a port of sacred.utils.apply_backspaces_and_linefeeds.
//
// "\r" returns to the start of the line and later text overwrites earlier text
// character by character ("100%\r50" gives "500%"); "\b" moves one character back
// (never past the start of the line); "\n" ends the line; "\r\n" is a newline; a
// "\r" at the very end of the text is kept. Lines without "\r" or "\b" are untouched.

// Characters (code points, as in Python), so a surrogate pair is never cut in two.
const chars = (text) => Array.from(text);

// What remains of a line whose segments were each written from column 0: column c
// shows the last segment longer than c.
function overlay(segments) {
  const shown = chars(segments[segments.length - 1]);
  const longest = Math.max(...segments.map((s) => s.length));
  for (let index = segments.length - 2; index >= 0 && shown.length < longest; index--) {
    const segment = chars(segments[index]);
    if (segment.length > shown.length) shown.push(...segment.slice(shown.length));
  }
  return shown.join("");
}

// Like overlay, for segments that move the cursor back with "\b" inside.
function writeWithBackspaces(segments) {
  const shown = [];
  for (const segment of segments) {
    let position = 0;
    segment.split("\b").forEach((part, index) => {
      if (index && position) position -= 1; // one backspace before every part but the first
      if (part) {
        const written = chars(part);
        const end = position + written.length;
        shown.splice(position, written.length, ...written);
        position = end;
      }
    });
  }
  return shown.join("");
}

// One line (no "\n" in it) holding at least one "\r" or "\b".
function applyLine(line) {
  let segments = line.split("\r");
  if (line.includes("\b")) {
    // Backspaces at the end of a segment only move the cursor before the next "\r":
    // they change nothing on screen.
    segments = segments.map((segment) => segment.replace(/\x08+$/, ""));
    if (segments.some((segment) => segment.includes("\b"))) return writeWithBackspaces(segments);
  }
  return overlay(segments);
}

export function applyBackspacesAndLinefeeds(text) {
  if (!text || (!text.includes("\r") && !text.includes("\b"))) return text || "";
  if (text.endsWith("\r")) {
    // A carriage return erases nothing until text follows it.
    const body = text.replace(/\r+$/, "");
    return applyBackspacesAndLinefeeds(body) + text.slice(body.length);
  }
  return text
    .split("\n")
    .map((line) => (line.includes("\r") || line.includes("\b") ? applyLine(line) : line))
    .join("\n");
}
