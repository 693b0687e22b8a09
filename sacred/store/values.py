"""The values of a few paths for every run a query matches: what groups, scatter
plots and parallel coordinates are computed from.

A *value path* is written like a sort key (``config.lr``, ``result``,
``info.best_epoch``, ``metrics.loss.min``, ``experiment.name``, ``id``), plus
``duration`` (seconds from the start to the stop, or to the last heartbeat of a run
that has not stopped); a bare name that starts no record field means a
configuration entry (``lr`` is ``config.lr``), as in the board's filter rows.

A backend that can read just these columns (the SQL reader: one SELECT of the JSON
values, no full records) implements :class:`ValueReader`; any other is read through
``find_records`` and :func:`sacred.store.query.get_path`.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from sacred.exceptions import QueryError
from sacred.store.query import FIELDS, MISSING, Node, get_path, parse_query, parse_sort

__all__ = [
    "ValuePath",
    "ValueReader",
    "parse_value_path",
    "read_values",
    "is_number",
    "DURATION",
]

#: The path of a run's duration in seconds.
DURATION: tuple[str, ...] = ("duration",)

ValuePath = tuple[str, ...]


@runtime_checkable
class ValueReader(Protocol):
    """A backend that reads the values at paths of the matching runs itself."""

    def path_values(
        self,
        query: Node | None,
        paths: Sequence[ValuePath],
        dead_after: float,
        limit: int | None = None,
    ) -> list[tuple[Any, list[Any]]] | None:
        """[(run id, [value at each path, MISSING where none])] of the runs query
        matches, newest first, at most limit; None when this query cannot be read
        this way (the caller then uses find_records)."""
        ...


def parse_value_path(text: str) -> ValuePath:
    """``lr`` → ("config", "lr"); ``metrics.loss.min`` → ("metrics", "loss", "min");
    ``duration`` → ("duration",). QueryError (with a suggestion) for a malformed one."""
    text = text.strip()
    if text == "duration":
        return DURATION
    head = text.split(".")[0]
    if head not in FIELDS:
        text = f"config.{text}"
    try:
        ((path, _),) = parse_sort(text)
    except QueryError as exc:
        raise QueryError(f"Invalid path {text!r}: {exc}", text, 0) from None
    return path


def is_number(value: Any) -> bool:
    """A finite int or float (booleans are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return value == value and value not in (float("inf"), float("-inf"))


def duration(record: dict) -> float | None:
    """Seconds from start_time to stop_time (or to the last heartbeat)."""
    start = record.get("start_time")
    end = record.get("stop_time") or record.get("heartbeat")
    if isinstance(start, datetime.datetime) and isinstance(end, datetime.datetime):
        return (end - start).total_seconds()
    return None


def read_values(
    store: Any, query: str | None, paths: Sequence[ValuePath], limit: int | None = None
) -> list[tuple[Any, list[Any]]]:
    """[(run id, [value at each path or MISSING])] for every run query matches (the
    newest limit runs), newest first."""
    node = parse_query(query)
    backend = store.backend
    if isinstance(backend, ValueReader):
        found = backend.path_values(node, list(paths), store.dead_after, limit)
        if found is not None:
            return found
    return _generic_values(backend, node, list(paths), store.dead_after, limit)


def _generic_values(
    backend: Any,
    node: Node | None,
    paths: list[ValuePath],
    dead_after: float,
    limit: int | None,
) -> list[tuple[Any, list[Any]]]:
    records = backend.find_records(node, [(("_id",), True)], limit, dead_after)
    names = sorted({p[1] for p in paths if p[0] == "metrics" and len(p) == 3})
    if names:
        summaries = backend.metric_summaries([r.get("_id") for r in records], names)
        for record in records:
            record["metrics"] = summaries.get(record.get("_id"), {})
    out = []
    for record in records:
        values = []
        for path in paths:
            if path == DURATION:
                seconds = duration(record)
                values.append(MISSING if seconds is None else seconds)
            else:
                values.append(get_path(record, path))
        out.append((record.get("_id"), values))
    return out
