"""Metric summaries: a run's metric as its last, smallest and largest value.

Queries and sort keys name them ``metrics.<name>.<stat>`` (``metrics.loss.min``,
``-metrics.training.loss.last``: a metric name may hold dots, the last part is the
statistic). The definitions, the same on every backend:

* ``last``: the value at the highest step (of two at one step, the one logged
  last); missing when that value is NaN or infinite (JSON has no such numbers);
* ``min``, ``max``: the extremes of the finite values; missing when there are none;
* ``points``: how many points were logged (shown, not queried).

A backend with stored summaries answers them from there (the SQL store keeps a
``metric_summaries`` row per run and metric, written with the points); the others
compute them from the points (:meth:`StoreBackend.metric_summaries`). A record found
by a query or a sort that names summaries holds them under ``record["metrics"]``
(``{name: {"last", "min", "max", "points"}}``): the generic evaluation, the sort and
the paging cursors read them there.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["STATS", "summarize", "metric_path", "summary_names", "attach_summaries"]

#: The statistics a query or sort key may name.
STATS = ("last", "min", "max")


def summarize(values: Sequence[float]) -> dict | None:
    """{"last", "min", "max", "points"} of a metric's values in step order (a list or
    a numpy array); None when it has no points."""
    points = len(values)
    if not points:
        return None
    try:
        import numpy as np

        array = np.asarray(values, dtype=np.float64)
    except ImportError:  # the store works without numpy; slower, same figures
        finite = [v for v in map(_number, values) if math.isfinite(v)]
        low, high = (min(finite), max(finite)) if finite else (None, None)
    except (TypeError, ValueError):  # a stored value that is not a number
        return summarize([_number(v) for v in values])
    else:
        finite_array = array[np.isfinite(array)]
        low, high = (
            (float(finite_array.min()), float(finite_array.max()))
            if finite_array.size
            else (None, None)
        )
    last = _number(values[-1])
    return {
        "last": last if math.isfinite(last) else None,
        "min": low,
        "max": high,
        "points": points,
    }


def _number(value: Any) -> float:
    """A stored value as a float; NaN for one that is not a number (None, text)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def metric_path(path: tuple[str, ...]) -> tuple[str, str, str] | str:
    """``("metrics", *name parts, stat)`` as ``("metrics", name, stat)``; a string
    saying what is wrong when path names no summary."""
    if len(path) < 3 or path[-1] not in STATS:
        example = ".".join(path[1:]) or "loss"
        return (
            f"{'.'.join(path)} names no metric summary: write metrics.<name>.last, "
            f".min or .max (e.g. metrics.{example}.min)"
        )
    return ("metrics", ".".join(path[1:-1]), path[-1])


def summary_names(query: Any, sort: Iterable[tuple[tuple[str, ...], bool]]) -> list[str]:
    """The metric names whose summaries a parsed query and sort keys read."""
    from sacred.store.query import query_paths

    paths = [*query_paths(query), *(path for path, _ in sort)]
    return sorted({path[1] for path in paths if path[0] == "metrics" and len(path) == 3})


def attach_summaries(
    backend: Any, records: list[dict], query: Any, sort: Iterable[tuple[tuple[str, ...], bool]]
) -> None:
    """Put the records' summaries of the metrics that query and sort read under
    ``record["metrics"]``."""
    names = summary_names(query, sort)
    if not names or not records:
        return
    found = backend.metric_summaries([record.get("_id") for record in records], names)
    for record in records:
        record["metrics"] = found.get(record.get("_id"), {})
