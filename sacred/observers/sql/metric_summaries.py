"""The ``metric_summaries`` rows: a run's metric as its last, smallest and largest value.

Why stored: sorting 100,000 runs by their best loss from the points would read every
run's chunks; a row per run and metric, indexed by (name, value, run), gives a page
of such a sort by reading 50 index entries. The observer updates the row in the
transaction that adds the points, so the two always agree. The figures are those of
sacred.store.metric_summary (``last`` at the highest step, extremes of the finite
values, NULL for "none"), computed in pure Python: the observer needs no numpy.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from sacred.observers.sql.metric_chunks import _as_float  # NaN for what is not a number

__all__ = ["batch_summary", "merge_summary", "write_summaries", "backfill_summaries"]


def batch_summary(steps: Sequence[int], values: Sequence[Any]) -> dict | None:
    """The summary row values of one batch of points (in logging order)."""
    if not len(steps):
        return None
    floats = [_as_float(v) for v in values]
    finite = [v for v in floats if math.isfinite(v)]
    last_step = max(steps)
    # The last point logged at the highest step: what a stable sort by step puts last.
    last = next(v for s, v in zip(reversed(steps), reversed(floats)) if s == last_step)
    return {
        "points": len(steps),
        "last_step": int(last_step),
        "last_value": last if math.isfinite(last) else None,
        "min_value": min(finite) if finite else None,
        "max_value": max(finite) if finite else None,
    }


def _extreme(pick: Any, a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else pick(a, b)


def merge_summary(old: dict, new: dict) -> dict:
    """The summary of old's points followed by new's."""
    later = new["last_step"] >= old["last_step"]
    return {
        "points": old["points"] + new["points"],
        "last_step": new["last_step"] if later else old["last_step"],
        "last_value": new["last_value"] if later else old["last_value"],
        "min_value": _extreme(min, old["min_value"], new["min_value"]),
        "max_value": _extreme(max, old["max_value"], new["max_value"]),
    }


_FIELDS = ("points", "last_step", "last_value", "min_value", "max_value")


def write_summaries(conn: Any, table: Any, run_id: int, batches: Iterable[tuple]) -> None:
    """Fold (name, steps, values) batches into the run's summary rows, inside the
    caller's transaction (one writer per run: the run's own observer)."""
    import sqlalchemy as sa

    summaries: dict[str, Any] = {}
    for name, steps, values in batches:
        summary = batch_summary(steps, values)
        if summary is not None:
            before = summaries.get(name)
            summaries[name] = summary if before is None else merge_summary(before, summary)
    if not summaries:
        return
    stored = {
        row.name: dict(zip(_FIELDS, row[1:]))
        for row in conn.execute(
            sa.select(table.c.name, *[table.c[f] for f in _FIELDS]).where(
                table.c.run_id == run_id, table.c.name.in_(list(summaries))
            )
        )
    }
    for name, summary in summaries.items():
        if name in stored:
            conn.execute(
                table.update()
                .where(table.c.run_id == run_id, table.c.name == name)
                .values(**merge_summary(stored[name], summary))
            )
        else:
            conn.execute(table.insert().values(run_id=run_id, name=name, **summary))


def backfill_summaries(conn: Any, chunks: Any, table: Any) -> None:
    """Summary rows for every run and metric of the chunks table (a migration)."""
    import sqlalchemy as sa

    from sacred.observers.sql.metric_chunks import unpack_chunk

    keys = conn.execute(
        sa.select(chunks.c.run_id, chunks.c.name).distinct().order_by(chunks.c.run_id)
    ).all()
    for run_id, name in keys:
        rows = conn.execute(
            sa.select(chunks.c.steps, chunks.c.vals, chunks.c.times)
            .where(chunks.c.run_id == run_id, chunks.c.name == name)
            .order_by(chunks.c.id)
        ).all()
        steps: list = []
        values: list = []
        for row in rows:
            points = unpack_chunk(row.steps, row.vals, row.times)
            steps += points["steps"]
            values += points["values"]
        summary = batch_summary(steps, values)
        if summary is not None:
            conn.execute(table.insert().values(run_id=run_id, name=name, **summary))
