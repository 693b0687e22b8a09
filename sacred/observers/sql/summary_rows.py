"""The ``metric_summaries`` rows: a run's metric as its last, smallest and largest
value, stored beside its points.

Why stored: sorting 100,000 runs by their best loss from the points would read every
run's chunks; a row per run and metric, indexed by (name, value, run), gives a page
of such a sort by reading 50 index entries. The observer updates the row in the
transaction that adds the points, so the two always agree. A row is a fold of the
points (``sacred._metric_fold``: the rule the store's summaries follow too), merged
batch by batch, in pure Python: the observer needs no numpy.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sacred._metric_fold import fold_points, merge_folds

__all__ = ["write_summaries", "backfill_summaries"]

_FIELDS = ("points", "last_step", "last_value", "min_value", "max_value")


def write_summaries(conn: Any, table: Any, run_id: int, batches: Iterable[tuple]) -> None:
    """Fold (name, steps, values) batches into the run's summary rows, inside the
    caller's transaction (one writer per run: the run's own observer)."""
    import sqlalchemy as sa

    summaries: dict[str, dict] = {}
    for name, steps, values in batches:
        summary = fold_points(steps, values)
        if summary is not None:
            before = summaries.get(name)
            summaries[name] = summary if before is None else merge_folds(before, summary)
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
                .values(**merge_folds(stored[name], summary))
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
        summary = None
        for row in rows:  # chunk by chunk, as the observer folded them
            points = unpack_chunk(row.steps, row.vals, row.times)
            chunk = fold_points(points["steps"], points["values"])
            if chunk is not None:
                summary = chunk if summary is None else merge_folds(summary, chunk)
        if summary is not None:
            conn.execute(table.insert().values(run_id=run_id, name=name, **summary))
