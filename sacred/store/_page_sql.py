"""Runs in id order from the SqlObserver's reader, walking the primary key.

Why: the generic ORDER BY of sacred.store.sqlquery puts missing values last with a
CASE expression, which keeps the database from using the primary key's index, so
"the newest 50 runs" of 100,000 sorted every row (80 ms on SQLite) instead of
reading 50 (under 1 ms). The id is never missing, so ordering by the bare column
gives the same order. The better home for this is ``SqlTranslator.order`` (return
just the column for ``kind == "id"``); until then the board's paging uses this.
"""

from __future__ import annotations

from typing import Any

__all__ = ["find_by_id"]


def find_by_id(
    backend: Any, node: Any, descending: bool, limit: int, dead_after: float
) -> list[dict] | None:
    """Records matching node in id order, at most limit; None when backend is not an
    SQL reader or the query has no SQL translation (the caller falls back)."""
    translate = getattr(backend, "_translator", None)
    if translate is None or not getattr(backend, "pushes_down", False):
        return None
    if not hasattr(backend, "_select") or not hasattr(backend, "_records"):
        return None
    from sacred.store.query import query_paths
    from sacred.store.sqlquery import Unsupported

    sa = backend.sa
    runs, experiments, hosts = backend.t["runs"], backend.t["experiments"], backend.t["hosts"]
    translator = translate(dead_after)
    heads = {path[0] for path in query_paths(node)}
    source = runs
    if "experiment" in heads:
        source = source.outerjoin(experiments, runs.c.experiment_id == experiments.c.id)
    if "host" in heads:
        source = source.outerjoin(hosts, runs.c.host_id == hosts.c.id)
    statement = sa.select(runs.c.id, translator.status().label("status")).select_from(source)
    try:
        if node is not None:
            statement = statement.where(translator.where(node))
    except Unsupported:
        return None
    order = runs.c.id.desc() if descending else runs.c.id.asc()
    statement = statement.order_by(order).limit(limit)
    with backend.engine.connect() as conn:
        selected = conn.execute(statement).fetchall()
        ids = [row_id for row_id, _ in selected]
        found = {
            row._mapping["id"]: row
            for row in conn.execute(backend._select().where(runs.c.id.in_(ids)))
        }
        rows = [found[i] for i in ids if i in found]
        records = backend._records(conn, rows)
    status = dict(selected)
    for row, record in zip(rows, records):
        record["status"] = status[row._mapping["id"]]
    return records
