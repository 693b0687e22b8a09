"""Metric summaries: a run's metric as its last, smallest and largest value.

Queries and sort keys name them ``metrics.<name>.<stat>`` (``metrics.loss.min``,
``-metrics.training.loss.last``: a metric name may hold dots, the last part is the
statistic). The definitions, the same on every backend (one fold computes them all:
``sacred._metric_fold``):

* ``last``: the value at the highest step (of two at one step, the one logged
  last); missing when that value is NaN or infinite (JSON has no such numbers);
* ``min``, ``max``: the extremes of the finite values; missing when there are none;
* ``points``: how many points were logged (shown, not queried).

A backend with stored summaries answers them from there (the SQL store keeps a
``metric_summaries`` row per run and metric, folded batch by batch as the points
arrive: ``sacred/observers/sql/summary_rows.py``); the others
compute them from the points (:meth:`StoreBackend.metric_summaries`). A record found
by a query or a sort that names summaries holds them under ``record["metrics"]``
(``{name: {"last", "min", "max", "points"}}``): the generic evaluation, the sort and
the paging cursors read them there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sacred._metric_fold import as_summary, fold_series
from sacred.store.query import STATS, metric_path, query_paths

__all__ = ["STATS", "summarize", "metric_path", "summary_names", "attach_summaries"]


def summarize(values: Sequence[float], steps: Sequence[int] | None = None) -> dict | None:
    """{"last", "min", "max", "points"} of a metric's values (a list or a numpy array)
    in step order, or in any order when their steps are given; None when it has no
    points (the fold: sacred._metric_fold)."""
    fold = fold_series(values, steps)
    return None if fold is None else as_summary(fold)


def summary_names(query: Any, sort: Iterable[tuple[tuple[str, ...], bool]]) -> list[str]:
    """The metric names whose summaries a parsed query and sort keys read."""
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
