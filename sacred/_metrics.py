"""Buffering of ``log_scalar`` measurements between heartbeats.

``Run.log_scalar`` is on the hot path of training loops (a million calls a second
must be possible), so logging is a single ``list.append`` of a tuple; the work of
numbering steps, grouping by name and converting timestamps happens in
:meth:`MetricsBuffer.drain`, once per heartbeat, off the user's loop.
"""

from __future__ import annotations

import datetime
from itertools import groupby
from operator import itemgetter
from typing import Any

__all__ = ["MetricsBuffer", "Timestamps", "check_metric_value"]

_EPOCH = datetime.datetime(1970, 1, 1)
_PLAIN_NUMBERS = (int, float)
_PLAIN_TYPES = {int, float}
_THOUSAND = 1000.0
_NAME, _VALUE, _STEP, _TIME = itemgetter(0), itemgetter(1), itemgetter(2), itemgetter(3)


def check_metric_value(name: str, value: Any) -> None:
    """Raise TypeError unless ``value`` is one real number.

    ints, floats (NaN and infinities too), bools, numpy scalars and 0-d arrays,
    and other objects that convert to a float (a one-element tensor) are numbers;
    a list, a string or None is not: it would only fail later, in an observer,
    far from the call that logged it.
    """
    if value is not None and not isinstance(value, (str, bytes, bytearray)):
        import numbers

        if isinstance(value, numbers.Real):
            return
        dtype = getattr(value, "dtype", None)
        if dtype is not None:
            if getattr(value, "ndim", 0) == 0 and getattr(dtype, "kind", "") in "biuf":
                return
        elif hasattr(type(value), "__float__") or hasattr(type(value), "__index__"):
            try:
                float(value)
                return
            except (TypeError, ValueError, OverflowError):
                pass
    raise TypeError(
        f"log_scalar({name!r}, ...) needs a real number (int, float, bool or a numpy "
        f"scalar), not {type(value).__name__} {value!r:.80}. Log one number per call, "
        f"e.g. _run.log_scalar({name!r}, float(x), step)."
    )


def _plain(value: Any) -> Any:
    """numpy scalars and other number-likes -> int/float (what every store can hold)."""
    if type(value) in _PLAIN_NUMBERS:
        return value
    item = getattr(value, "item", None)
    if item is not None:
        try:
            return item()
        except (TypeError, ValueError):
            pass
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


class MetricsBuffer(list):
    """A list of ``(name, value, step, unix_time_in_ms)`` tuples, drained at heartbeats."""

    def __init__(self) -> None:
        super().__init__()
        self._last_step: dict[str, int] = {}

    def drain(self) -> dict[str, dict[str, list]]:
        """Remove the buffered measurements and return them grouped by metric name:
        ``{name: {"steps": [...], "values": [...], "timestamps": [datetime, ...]}}``.

        Safe to call while another thread appends: only the measurements present at
        the start are taken.
        """
        count = len(self)
        if not count:
            return {}
        points = self[:count]
        del self[:count]
        names = dict.fromkeys(map(_NAME, points))  # in the order first logged
        if len(names) == 1:
            groups: list[tuple[str, list]] = [(points[0][0], points)]
        else:
            # Metrics in the order first logged (as the original delivers them); a
            # stable sort keeps each metric's measurements in logging order.
            rank = {name: i for i, name in enumerate(names)}
            points.sort(key=lambda point: rank[point[0]])
            groups = [(name, list(group)) for name, group in groupby(points, key=_NAME)]
        result = {}
        last_step = self._last_step
        for name, group in groups:
            steps = list(map(_STEP, group))
            previous = last_step.get(name, -1)
            if steps.count(None) == len(steps):
                steps = list(range(previous + 1, previous + 1 + len(steps)))
            elif None in steps:
                numbered = []
                for step in steps:
                    previous = previous + 1 if step is None else int(step)
                    numbered.append(previous)
                steps = numbered
            last_step[name] = steps[-1]
            values = list(map(_VALUE, group))
            if not set(map(type, values)) <= _PLAIN_TYPES:
                values = [_plain(v) for v in values]
            result[name] = {
                "steps": steps,
                "values": values,
                "timestamps": _to_datetimes(list(map(_TIME, group))),
            }
        return result


class Timestamps(list):
    """The datetimes of a batch, with the integer milliseconds since 1970 they were
    made from in ``unix_ms``: observers that store integers (the SqlObserver) use
    those instead of converting every datetime back. Any other list of datetimes is
    just as valid a batch (a merged retry, a caller's own events)."""

    unix_ms: list[int]


def _to_datetimes(millis: list[int]) -> Timestamps:
    # Timestamps are kept with millisecond resolution (what MongoDB stores too), which
    # lets the thousands of measurements of one millisecond share one datetime object;
    # the per-value work stays in C (map over builtins).
    if millis and type(millis[0]) is float:  # seconds, from callers of the old format
        millis = list(map(int, map(_THOUSAND.__rmul__, millis)))
    delta = datetime.timedelta
    cache = {ms: _EPOCH + delta(milliseconds=ms) for ms in set(millis)}
    stamps = Timestamps(map(cache.__getitem__, millis))
    stamps.unix_ms = millis
    return stamps
