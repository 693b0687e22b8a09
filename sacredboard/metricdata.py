"""One metric of one run as plot data: steps, values and times (seconds since the
epoch, UTC), downsampled on the server (min and max of every bucket)."""

from __future__ import annotations

from typing import Any

from sacred.store.downsample import downsample_minmax, window

__all__ = ["plot_data", "epoch_seconds"]


def epoch_seconds(stamps: Any) -> Any:
    """Timestamps (datetime64 array, datetimes or ISO strings, naive UTC) as float
    seconds since 1970 (NaN where missing)."""
    import numpy as np

    if isinstance(stamps, np.ndarray) and stamps.dtype.kind == "M":
        micros = stamps.astype("datetime64[us]")
    else:
        items = list(stamps)
        try:
            micros = np.array(
                [s.replace(tzinfo=None) if hasattr(s, "tzinfo") else s for s in items],
                dtype="datetime64[us]",
            )
        except (TypeError, ValueError):  # zone offsets or other ISO variants
            import pandas as pd

            index = pd.to_datetime(items, format="ISO8601", utc=True).tz_localize(None)
            micros = index.values.astype("datetime64[us]")
    seconds = micros.astype(np.int64).astype(np.float64) / 1e6
    seconds[np.isnat(micros)] = np.nan
    return seconds


def plot_data(
    data: dict,
    max_points: int = 2000,
    min_step: float | None = None,
    max_step: float | None = None,
) -> dict:
    """{"steps", "values", "timestamps", "points", "downsampled"}: the points within
    [min_step, max_step], at most max_points of them keeping every bucket's extremes.
    ``points`` counts the points in the window before downsampling."""
    import numpy as np

    steps = np.asarray(data["steps"], dtype=np.float64)
    values = np.asarray(data["values"])
    if values.dtype.kind == "O":
        values = np.array([v if isinstance(v, (int, float)) else np.nan for v in values])
    start, stop = window(steps, min_step, max_step)
    # One point beyond each edge, so that a zoomed plot's lines reach the borders.
    start, stop = (
        max(0, start - 1) if min_step is not None else start,
        min(len(steps), stop + 1 if max_step is not None else stop),
    )
    chosen = downsample_minmax(values[start:stop], max_points) + start
    stamps = data.get("timestamps")
    times = epoch_seconds(np.asarray(stamps)[chosen] if stamps is not None else [])
    return {
        "steps": steps[chosen],
        "values": values[chosen].astype(np.float64),
        "timestamps": times if len(times) == len(chosen) else [None] * len(chosen),
        "points": stop - start,
        "downsampled": len(chosen) < stop - start,
    }
