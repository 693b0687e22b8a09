"""Downsampling a metric for plotting: every bucket keeps its minimum and maximum.

Why min/max and not every n-th point: a plot of a million points on a thousand
pixels must still show each spike and each dip; keeping the extremes of each bucket
(plus the first and last point) draws the same envelope as the full series.
"""

from __future__ import annotations

from typing import Any

__all__ = ["downsample_minmax", "window"]


def window(steps: Any, min_step: float | None, max_step: float | None) -> tuple[int, int]:
    """The index range [start, stop) of the sorted steps within [min_step, max_step]."""
    import numpy as np

    steps = np.asarray(steps)
    start = 0 if min_step is None else int(np.searchsorted(steps, min_step, side="left"))
    stop = len(steps) if max_step is None else int(np.searchsorted(steps, max_step, "right"))
    return start, max(start, stop)


def downsample_minmax(values: Any, max_points: int) -> Any:
    """Indices (sorted numpy int array) of at most max_points points of values that
    keep the first and last point and the minimum and maximum of every bucket.

    All indices when there are no more than max_points values. Values that are not
    numbers (an object array) are thinned evenly instead.
    """
    import numpy as np

    if max_points < 4:
        raise ValueError(f"max_points must be at least 4, not {max_points}")
    n = len(values)
    if n <= max_points:
        return np.arange(n)
    values = np.asarray(values)
    if values.dtype.kind not in "fiub":
        return np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))
    values = values.astype(np.float64, copy=False)
    buckets = (max_points - 2) // 2
    width = -(-n // buckets)  # ceil: every bucket but the last is full
    padded = np.full(buckets * width, np.nan)
    padded[:n] = values
    grid = padded.reshape(buckets, width)
    # NaNs (padding, or values that were not numbers) never win a bucket's min or max.
    low = np.where(np.isnan(grid), np.inf, grid).argmin(axis=1)
    high = np.where(np.isnan(grid), -np.inf, grid).argmax(axis=1)
    offsets = np.arange(buckets) * width
    picked = np.concatenate(([0, n - 1], offsets + low, offsets + high))
    return np.unique(picked[picked < n])
