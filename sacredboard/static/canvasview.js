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

// Size the canvas to width × height CSS pixels at the screen's pixel ratio (sharp on
// high-DPI screens) and return its cleared 2D context, drawing in CSS pixels.
export function sizedContext(canvas, width, height) {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = width * ratio;
  canvas.height = height * ratio;
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  return g;
}
