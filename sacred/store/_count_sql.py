"""COUNT(*) pushed down for the SqlObserver's reader (used by sacred.store.paging).

Kept apart so the generic paging module imports no SQL machinery; it disappears once
the reader grows a ``count_records(query, dead_after)`` method of its own.
"""

from __future__ import annotations

from typing import Any

__all__ = ["count_sql"]


def count_sql(backend: Any, node: Any, dead_after: float) -> int | None:
    """The number of runs matching node, or None when backend is not an SQL reader or
    the query has no SQL translation."""
    translate = getattr(backend, "_translator", None)
    engine = getattr(backend, "engine", None)
    if translate is None or engine is None or not getattr(backend, "pushes_down", False):
        return None
    from sacred.store.query import query_paths
    from sacred.store.sqlquery import Unsupported

    sa = backend.sa
    runs, experiments, hosts = backend.t["runs"], backend.t["experiments"], backend.t["hosts"]
    heads = {path[0] for path in query_paths(node)}
    source = runs
    if "experiment" in heads:
        source = source.outerjoin(experiments, runs.c.experiment_id == experiments.c.id)
    if "host" in heads:
        source = source.outerjoin(hosts, runs.c.host_id == hosts.c.id)
    statement = sa.select(sa.func.count()).select_from(source)
    try:
        if node is not None:
            statement = statement.where(translate(dead_after).where(node))
    except Unsupported:
        return None
    with engine.connect() as conn:
        return int(conn.execute(statement).scalar() or 0)
