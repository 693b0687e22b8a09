"""Scatter points of every run in-process: the JSON reply of ``/api/points``
(``store.points`` encoded as the board does) against the binary one the scatter page
reads (``store.point_columns`` + ``sacredboard.pointbytes.encode``).

On the 100,000-run store ``bench_sacredboard.py --keep DIR`` builds. Run it with
another tree first on ``PYTHONPATH`` to compare with that code in the same run (a
tree without the binary form prints ``-`` for it):

    PYTHONPATH=. python bench/bench_points.py sqlite:///DIR/runs.db
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import report, time_call  # noqa: E402

COLOURS = (None, "optimizer.name", "metrics.loss.min")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", help="a store URL, e.g. sqlite:///DIR/runs.db")
    parser.add_argument("--x", default="model.hidden")
    parser.add_argument("--y", default="result")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from sacred.store import open_store
    from sacred.store.points import points
    from sacredboard.jsonout import dumps

    try:
        from sacred.store.points import point_columns
        from sacredboard.pointbytes import encode
    except ImportError:  # a tree from before the binary form
        point_columns = None

    store = open_store(args.store)
    rows = [("load average (1 min) at the start", f"{os.getloadavg()[0]:.1f}")]
    for color in COLOURS:

        def as_json(color: str | None = color) -> bytes:
            return dumps(points(store, args.x, args.y, color))

        as_json()  # the path indexes built, the caches warm
        took = time_call(as_json, args.repeat)
        binary = "-"
        if point_columns is not None:

            def as_bytes(color: str | None = color) -> bytes:
                return encode(point_columns(store, args.x, args.y, color))

            as_bytes()
            binary = f"{time_call(as_bytes, args.repeat) * 1000:,.0f} ms"
        rows.append((f"colour {color}", f"JSON {took * 1000:,.0f} ms, binary {binary}"))
    rows.append(("load average (1 min) at the end", f"{os.getloadavg()[0]:.1f}"))
    store.close()
    report(f"points of every run, x={args.x} y={args.y}", rows)


if __name__ == "__main__":
    main()
