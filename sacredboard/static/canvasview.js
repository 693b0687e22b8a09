// What the canvas views (scatter.js, parallel.js) share: the pointer position on
// their canvas, a redraw when the window is resized (debounced: a drag of the window
// edge fires dozens of events), a mouseup caught on the whole window (a drag may end
// outside the canvas), and the teardown of those window listeners when the view goes.

const RESIZE_DELAY = 100; // ms

// canvas: the view's canvas; redraw(): draw again at the new width; onMouseUp(event).
export function canvasEvents(canvas, { redraw, onMouseUp }) {
  let timer = null;
  const onResize = () => {
    clearTimeout(timer);
    timer = setTimeout(redraw, RESIZE_DELAY);
  };
  window.addEventListener("resize", onResize);
  window.addEventListener("mouseup", onMouseUp);
  return {
    // [x, y] of a mouse event in the canvas's CSS pixels.
    position(event) {
      const r = canvas.getBoundingClientRect();
      return [event.clientX - r.left, event.clientY - r.top];
    },
    teardown() {
      clearTimeout(timer);
      window.removeEventListener("resize", onResize);
      window.removeEventListener("mouseup", onMouseUp);
    },
  };
}
