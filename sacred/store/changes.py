"""A cheap "has anything changed?" token for a store, for dashboards that poll.

The token is an opaque string that changes when a run is added, deleted, beats
(which is when observers write new metric points, output and info), finishes or is
edited. Polling once a second must cost almost nothing, so each backend answers it
its own way through :meth:`sacred.store.base.StoreBackend.change_token`:

- SQLite file: the size and modification time of the database and its WAL/journal
  files (every commit changes one of them): a few ``stat`` calls
  (:func:`stat_token`).
- file store: the modification times of the run directories (one directory scan).
- other SQL databases: one aggregate query over the runs table.
- anything else: the newest heartbeat, start, stop and queue times and the highest
  id, read with sorted, limited queries (the default of StoreBackend).
"""

from __future__ import annotations

import hashlib
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sacred.store.store import Store

__all__ = ["change_token", "stat_token"]


def stat_token(paths: list[str]) -> str:
    """Modification time and size of each path ('-' for a missing one)."""
    parts = []
    for path in paths:
        try:
            st = os.stat(path)
            parts.append(f"{st.st_mtime_ns}:{st.st_size}")
        except OSError:
            parts.append("-")
    return "|".join(parts)


def change_token(store: Store) -> str:
    """An opaque string that differs whenever the store's runs changed."""
    raw = str(store.backend.change_token())
    return hashlib.sha1(raw.encode()).hexdigest()[:16]
