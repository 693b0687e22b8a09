"""A cheap "has anything changed?" token for a store, for dashboards that poll.

The token is an opaque string that changes when a run is added, deleted, beats
(which is when observers write new metric points, output and info), finishes or is
edited. Why per kind of store: polling once a second must cost almost nothing.

- SQLite file: the size and modification time of the database and its WAL/journal
  files (every commit changes one of them): a few ``stat`` calls.
- file store: the modification times of the run directories (one directory scan).
- other SQL databases: one aggregate query over the runs table.
- anything else: the newest heartbeat, start, stop and queue times and the highest
  id, read with sorted, limited queries through the store.

A backend may provide its own ``change_token()``; it is used first.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

__all__ = ["change_token"]


def _sqlite_files(backend: Any) -> list[str] | None:
    engine = getattr(backend, "engine", None)
    if engine is None or getattr(engine.dialect, "name", "") != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    return [database, database + "-wal", database + "-journal"]


def _stat_token(paths: list[str]) -> str:
    parts = []
    for path in paths:
        try:
            st = os.stat(path)
            parts.append(f"{st.st_mtime_ns}:{st.st_size}")
        except OSError:
            parts.append("-")
    return "|".join(parts)


def _sql_token(backend: Any) -> str | None:
    if not getattr(backend, "pushes_down", False) or not hasattr(backend, "engine"):
        return None
    sa = backend.sa
    runs = backend.t["runs"]
    statement = sa.select(
        sa.func.count(),
        sa.func.max(runs.c.id),
        sa.func.max(runs.c.heartbeat),
        sa.func.max(runs.c.start_time),
        sa.func.max(runs.c.stop_time),
        sa.func.max(runs.c.queue_time),
    )
    with backend.engine.connect() as conn:
        return repr(tuple(conn.execute(statement).one()))


def _generic_token(store: Any) -> str:
    parts = []
    for key in ("-heartbeat", "-start_time", "-stop_time", "-queue_time", "-id"):
        found = store.find(None, sort=key, limit=1)
        field = key.lstrip("-")
        parts.append(repr(getattr(found[0], field, None)) if found else "-")
        if field == "id" and found:
            parts.append(repr(found[0].id))
    return "|".join(parts)


def change_token(store: Any) -> str:
    """An opaque string that differs whenever the store's runs changed."""
    backend = store.backend
    own = getattr(backend, "change_token", None)
    if own is not None:
        raw = str(own())
    elif (files := _sqlite_files(backend)) is not None:
        raw = _stat_token(files)
    elif hasattr(backend, "_run_dirs"):
        # The file store: every record file is replaced atomically (a rename), which
        # changes its run directory's mtime; one scandir pass lists them all.
        raw = repr(backend._run_dirs())
    else:
        raw = _sql_token(backend) or _generic_token(store)
    return hashlib.sha1(raw.encode()).hexdigest()[:16]
