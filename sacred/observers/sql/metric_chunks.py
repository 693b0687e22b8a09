"""Metric points packed into byte strings, one ``metric_chunks`` row per metric and batch.

A row per point made every heartbeat cost an indexed insert per point (SQLite: ~3 us
each, 8x the file observer's journal append) and made reading a million points a walk
over a million rows (1.5 s on SQLite). Instead the points a heartbeat brings for one
metric are stored as three little-endian arrays in one row:

* ``steps``: int64 steps;
* ``vals``: float64 values (NaN and infinities kept exactly; a value that is not a
  number, such as None, becomes NaN);
* ``times``: int64 microseconds since 1970-01-01 UTC (``NAT``, the smallest int64,
  for a missing timestamp; numpy reads it as NaT).

Rows hold at most :data:`MAX_POINTS_PER_CHUNK` points (a 100,000 point row is
2.4 MB, well under MariaDB's default ``max_allowed_packet`` of 16 MB); a metric's
points are its chunks in ``id`` order. Packing is pure Python (``array``), so the
observer needs no numpy; the store reads the chunks with numpy without a Python
object per point.
"""

from __future__ import annotations

import datetime
import math
import sys
from array import array
from collections.abc import Iterator
from typing import Any

__all__ = [
    "NAT",
    "MAX_POINTS_PER_CHUNK",
    "pack_metric",
    "unpack_chunk",
    "chunks_to_arrays",
]

NAT = -(2**63)
MAX_POINTS_PER_CHUNK = 100_000
_EPOCH = datetime.datetime(1970, 1, 1)
_MICROSECOND = datetime.timedelta(microseconds=1)
_SWAP = sys.byteorder != "little"


def _packed(typecode: str, items: Any) -> bytes:
    packed = array(typecode, items)
    if _SWAP:
        packed.byteswap()
    return packed.tobytes()


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _micros(stamp: datetime.datetime | None) -> int:
    if stamp is None:
        return NAT
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return (stamp - _EPOCH) // _MICROSECOND


def pack_metric(series: dict) -> Iterator[tuple[int, int, int, bytes, bytes, bytes]]:
    """``(points, first_step, last_step, steps, vals, times)`` for each chunk of a
    ``{"steps", "values", "timestamps"}`` batch."""
    steps, values, stamps = series["steps"], series["values"], series["timestamps"]
    try:
        packed_values = _packed("d", values)
    except TypeError:  # None or a value that is not a number
        packed_values = _packed("d", map(_as_float, values))
    unix_ms = getattr(stamps, "unix_ms", None)  # sacred._metrics.Timestamps
    if unix_ms is not None and len(unix_ms) == len(stamps):
        micros = list(map((1000).__mul__, unix_ms))
    else:
        # Measurements of one millisecond share one datetime object: convert each once.
        distinct = {id(stamp): stamp for stamp in stamps}
        converted = {key: _micros(stamp) for key, stamp in distinct.items()}
        micros = list(map(converted.__getitem__, map(id, stamps)))
    packed_times = _packed("q", micros)
    packed_steps = _packed("q", steps)
    for start in range(0, len(steps), MAX_POINTS_PER_CHUNK):
        end = min(start + MAX_POINTS_PER_CHUNK, len(steps))
        yield (
            end - start,
            steps[start],
            steps[end - 1],
            packed_steps[8 * start : 8 * end],
            packed_values[8 * start : 8 * end],
            packed_times[8 * start : 8 * end],
        )


def unpack_chunk(steps: bytes, vals: bytes, times: bytes) -> dict[str, list]:
    """One stored chunk as plain lists (timestamps as naive UTC datetimes or None)."""

    def unpacked(typecode: str, data: bytes) -> list:
        items = array(typecode)
        items.frombytes(bytes(data))
        if _SWAP:
            items.byteswap()
        return items.tolist()

    return {
        "steps": unpacked("q", steps),
        "values": unpacked("d", vals),
        "timestamps": [
            None if t == NAT else _EPOCH + datetime.timedelta(microseconds=t)
            for t in unpacked("q", times)
        ],
    }


def chunks_to_arrays(chunks: list[tuple[Any, Any, Any]]) -> dict[str, Any]:
    """A metric's ``(steps, vals, times)`` chunks, in id order, as numpy arrays sorted
    by step (stable: values logged twice at one step keep their logging order)."""
    import numpy as np

    def joined(column: int, dtype: str) -> Any:
        data = b"".join(bytes(chunk[column]) for chunk in chunks)
        return np.frombuffer(data, dtype).astype(dtype[1:])  # native, writable

    steps = joined(0, "<i8")
    values = joined(1, "<f8")
    times = joined(2, "<i8").view("datetime64[us]")
    if steps.size > 1 and (np.diff(steps) < 0).any():
        order = np.argsort(steps, kind="stable")
        steps, values, times = steps[order], values[order], times[order]
    return {"steps": steps, "values": values, "timestamps": times}
