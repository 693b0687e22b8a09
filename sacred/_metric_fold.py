"""How a metric series folds into its summary: the one rule, wherever it is computed.

A *fold* is the summary of some points of one metric, as a dict with the fields of
the SQL store's ``metric_summaries`` row::

    {"points", "last_step", "last_value", "min_value", "max_value"}

* ``points``: how many points;
* ``last_step``/``last_value``: the point at the highest step (of several at that
  step, the one logged last); the value is None when it is NaN or infinite;
* ``min_value``/``max_value``: the extremes of the finite values (None: there are
  none). A value that is not a number (None, text) counts as NaN.

Folds combine: :func:`merge_folds` of the folds of two batches is the fold of the
first batch's points followed by the second's, so the SqlObserver updates its row
batch by batch (:func:`fold_points` per heartbeat), and the store computes the same
figures from a whole series at once (:func:`fold_series`, with numpy when it is
there). :func:`as_summary` gives the store's view of a fold,
``{"last", "min", "max", "points"}`` (``sacred.store.metric_summary``).

A leaf module (it imports nothing of sacred), so that the observer and the store
share it without either importing the other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

__all__ = ["fold_points", "fold_series", "merge_folds", "as_summary"]


def _number(value: Any) -> float:
    """A stored value as a float; NaN for one that is not a number (None, text)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _numpy() -> Any:
    try:
        import numpy
    except ImportError:
        return None
    return numpy


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _extremes(floats: Sequence[float]) -> tuple[float | None, float | None]:
    finite = [v for v in floats if math.isfinite(v)]
    return (min(finite), max(finite)) if finite else (None, None)


def fold_points(steps: Sequence[int], values: Sequence[Any]) -> dict | None:
    """The fold of points in logging order (a heartbeat's batch, or a whole series as
    logged); None when there are none."""
    if not len(steps):
        return None
    floats = [_number(v) for v in values]
    last_step = max(steps)
    # The last point logged at the highest step: what a stable sort by step puts last.
    last = next(v for s, v in zip(reversed(steps), reversed(floats)) if s == last_step)
    low, high = _extremes(floats)
    return {
        "points": len(steps),
        "last_step": int(last_step),
        "last_value": _finite_or_none(last),
        "min_value": low,
        "max_value": high,
    }


def fold_series(values: Sequence[Any], steps: Sequence[int] | None = None) -> dict | None:
    """The fold of a whole series as a store returns it (lists or numpy arrays):
    without steps, the values in step order; with steps, in step order or in logging
    order (the last of the points at the highest step is "last" in both). None when
    it is empty. The figures of :func:`fold_points`, with numpy when it is there."""
    points = len(values)
    if not points:
        return None
    last = points - 1
    np = _numpy()
    array = None
    if np is not None:
        try:
            array = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):  # a stored value that is not a number
            array = None
    if array is not None:  # a million points: the extremes in C
        finite = array[np.isfinite(array)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (None, None)
    else:  # the store works without numpy; slower, same figures
        low, high = _extremes([_number(v) for v in values])
    if steps is not None and len(steps):
        if np is not None:  # the last occurrence of the highest step
            last -= int(np.argmax(np.asarray(steps)[::-1]))
        else:
            highest = max(steps)
            last = max(i for i, step in enumerate(steps) if step == highest)
    return {
        "points": points,
        "last_step": int(steps[last]) if steps is not None and len(steps) else None,
        "last_value": _finite_or_none(_number(values[last])),
        "min_value": low,
        "max_value": high,
    }


def _extreme(pick: Any, a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else pick(a, b)


def merge_folds(old: dict, new: dict) -> dict:
    """The fold of old's points followed by new's (a later point at the same highest
    step replaces "last")."""
    later = new["last_step"] >= old["last_step"]
    return {
        "points": old["points"] + new["points"],
        "last_step": new["last_step"] if later else old["last_step"],
        "last_value": new["last_value"] if later else old["last_value"],
        "min_value": _extreme(min, old["min_value"], new["min_value"]),
        "max_value": _extreme(max, old["max_value"], new["max_value"]),
    }


def as_summary(fold: dict) -> dict:
    """A fold as the store shows it: ``{"last", "min", "max", "points"}``."""
    return {
        "last": fold["last_value"],
        "min": fold["min_value"],
        "max": fold["max_value"],
        "points": fold["points"],
    }
