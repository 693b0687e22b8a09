"""Points for scatter plots and parallel coordinates, and the configuration entries
that vary among the matching runs (``store.points``, ``store.columns``,
``store.varying``; the board's ``/api/points`` and ``/api/varying``).

Paths are value paths (sacred.store.values): config, info, meta, result, metric
summaries (``metrics.loss.min``), ``duration``, a bare name being ``config.<name>``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sacred.exceptions import QueryError
from sacred.store.query import MISSING, parse_query
from sacred.store.values import is_number, parse_value_path, read_values

if TYPE_CHECKING:  # numpy is imported only where columns are asked for
    from sacred.store.pointcolumns import PointColumns

__all__ = [
    "points",
    "point_columns",
    "columns",
    "varying",
    "MAX_PATHS",
    "VARYING_SAMPLE",
]

#: At most this many paths in one columns() request (parallel coordinates axes).
MAX_PATHS = 30
#: varying() looks at the configuration of this many newest matching runs.
VARYING_SAMPLE = 10_000
#: A path with more distinct values than this is not listed as categorical.
MAX_CATEGORIES = 50


def points(store: Any, x: str, y: str, color: str | None = None, query: str | None = None) -> dict:
    """``{"ids", "x", "y", "color", "missing"}``: one entry per run query matches whose
    values at x and y are finite numbers (newest first); the others are left out and
    counted in ``missing``. ``color`` holds the value at the color path (any kind,
    ``None`` where the run has none; ``null`` as a whole without a color path)."""
    paths = _paths(x, y, color)
    found = _columnar(store, paths, query)
    if found is not None:
        return found.as_dict()
    return _read_points(store, paths, query)


def point_columns(
    store: Any, x: str, y: str, color: str | None = None, query: str | None = None
) -> PointColumns:
    """The points of ``points()`` as columns (numpy arrays, the colour values as a
    dictionary and codes or as numbers): what the board sends as typed arrays
    (sacredboard/pointbytes.py), without a Python object per run where the store
    reads them from its indexes."""
    from sacred.store.pointcolumns import PointColumns

    paths = _paths(x, y, color)
    found = _columnar(store, paths, query)
    if found is not None:
        return found
    return PointColumns.from_dict(_read_points(store, paths, query))


def _paths(x: str, y: str, color: str | None) -> list[tuple[str, ...]]:
    paths = [parse_value_path(x), parse_value_path(y)]
    if color:
        paths.append(parse_value_path(color))
    return paths


def _columnar(store: Any, paths: list[tuple[str, ...]], query: str | None) -> Any:
    columnar = getattr(store.backend, "scatter_points", None)
    if columnar is None:  # only the SQL reader reads them from SQLite's path indexes
        return None
    tint = paths[2] if len(paths) > 2 else None
    return columnar(parse_query(query), paths[0], paths[1], tint, store.dead_after)


def _read_points(store: Any, paths: list[tuple[str, ...]], query: str | None) -> dict:
    color = len(paths) > 2
    out: dict[str, Any] = {"ids": [], "x": [], "y": [], "color": [] if color else None}
    missing = 0
    for run_id, values in read_values(store, query, paths):
        if not (is_number(values[0]) and is_number(values[1])):
            missing += 1
            continue
        out["ids"].append(run_id)
        out["x"].append(values[0])
        out["y"].append(values[1])
        if color:
            out["color"].append(None if values[2] is MISSING else values[2])
    out["missing"] = missing
    return out


def columns(store: Any, paths: str | Sequence[str], query: str | None = None) -> dict:
    """``{"ids", "paths", "values": {path: [...]}, "kinds": {path: "number" |
    "category"}, "missing"}``: the values at several paths of every run query
    matches that has a value at each (a parallel-coordinates axis per path); runs
    lacking one are left out and counted in ``missing``. A path whose values are all
    numbers is ``number``, else ``category``."""
    texts = [t.strip() for t in (paths.split(",") if isinstance(paths, str) else paths)]
    texts = [t for t in texts if t]
    if not texts or len(texts) > MAX_PATHS:
        raise QueryError(f"paths must name 1 to {MAX_PATHS} paths", ",".join(texts), 0)
    parsed = [parse_value_path(t) for t in texts]
    names = [".".join(p) if p != ("_id",) else "id" for p in parsed]
    ids: list[Any] = []
    values: dict[str, list] = {name: [] for name in names}
    missing = 0
    for run_id, found in read_values(store, query, parsed):
        if any(v is MISSING or v is None for v in found):
            missing += 1
            continue
        ids.append(run_id)
        for name, value in zip(names, found):
            values[name].append(value)
    kinds = {
        name: "number" if all(is_number(v) for v in column) else "category"
        for name, column in values.items()
    }
    return {"ids": ids, "paths": names, "values": values, "kinds": kinds, "missing": missing}


def _leaves(value: Any, prefix: str, out: dict) -> None:
    if isinstance(value, dict) and value:
        for key, inner in value.items():
            _leaves(inner, f"{prefix}.{key}", out)
    else:
        out[prefix] = value


def varying(store: Any, query: str | None = None, sample: int = VARYING_SAMPLE) -> dict:
    """``{"runs": n, "keys": [{"path", "kind", "distinct", "min", "max", "log",
    "seed"}]}``: the configuration entries whose value differs among the newest
    sample runs query matches (a run lacking an entry counts as a value of its own).

    ``kind`` is ``number`` when every present value is a number, else ``category``;
    ``log`` suggests a log axis (positive numbers spanning more than two decades);
    ``seed`` marks the run's seed, which a view leaves out unless asked."""
    rows = read_values(store, query, [("config",)], limit=sample)
    seen: dict[str, dict[str, Any]] = {}
    for _, (config,) in rows:
        flat: dict[str, Any] = {}
        _leaves(config if isinstance(config, dict) else {}, "config", flat)
        for path, value in flat.items():
            entry = seen.setdefault(path, {"values": set(), "numbers": [], "count": 0})
            entry["count"] += 1
            if len(entry["values"]) <= MAX_CATEGORIES:
                entry["values"].add(json.dumps(value, sort_keys=True, default=repr))
            if is_number(value):
                entry["numbers"].append(value)
    keys = []
    for path, entry in sorted(seen.items()):
        distinct = len(entry["values"]) + (1 if entry["count"] < len(rows) else 0)
        if distinct < 2:
            continue
        numbers = entry["numbers"]
        kind = "number" if numbers and len(numbers) == entry["count"] else "category"
        low = min(numbers) if kind == "number" else None
        high = max(numbers) if kind == "number" else None
        log = low is not None and high is not None and low > 0 and high / low > 100
        keys.append(
            {
                "path": path,
                "kind": kind,
                "distinct": distinct if len(entry["values"]) <= MAX_CATEGORIES else None,
                "min": low,
                "max": high,
                "log": log,
                "seed": path == "config.seed",
            }
        )
    return {"runs": len(rows), "keys": keys}
