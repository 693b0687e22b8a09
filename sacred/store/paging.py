"""Keyset paging: the next page of a sorted query, whatever the sort keys.

Why keyset and not offsets: a cursor holds the sort values of the last run shown,
and the next page is "the runs after these values" added to the query, so the
database answers it with the same filter it already runs (no skipping through
thousands of rows) and runs arriving meanwhile do not shift the pages.

The sort order is the store's (docs/store.md, *Sorting*): numbers, then strings
(times), then booleans, then lists/objects, missing values last in either direction.
The run id is always the last key, so the order is total. A cursor is an opaque
URL-safe string.
"""

from __future__ import annotations

import base64
import datetime
import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sacred.exceptions import QueryError
from sacred.store.kinds import value_kind
from sacred.store.query import MISSING, And, Compare, Exists, Node, Not, Or, get_path, parse_query
from sacred.store.query import parse_sort as _parse_sort

if TYPE_CHECKING:
    from sacred.store.store import Store

__all__ = ["Page", "find_page", "count", "sort_keys"]

_TIME_FIELDS = {"start_time", "stop_time", "heartbeat", "queue_time"}


@dataclass
class Page:
    runs: list  # StoredRun
    next: str | None  # cursor of the following page, None on the last page


def sort_keys(sort: Any) -> list[tuple[tuple[str, ...], bool]]:
    """The parsed sort keys with the run id appended (ascending) unless present."""
    keys = _parse_sort(sort)
    if not any(path == ("_id",) for path, _ in keys):
        keys.append((("_id",), False))
    return keys


def _page_kind(value: Any) -> str:
    """Where a cursor value sorts: its kind (sacred.store.kinds), with times among the
    strings (as ISO strings) and lists, objects and the rest as "other"."""
    kind = value_kind(value)
    if kind == "time":
        return "string"
    return kind if kind in ("null", "bool", "number", "string") else "other"


def _encode(values: list) -> str:
    def plain(value: Any) -> Any:
        if value is MISSING:
            return None
        if isinstance(value, datetime.datetime):
            return {"t": value.isoformat()}
        return value

    text = json.dumps([plain(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str, n_keys: int) -> list:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        if not isinstance(values, list) or len(values) != n_keys:
            raise ValueError
    except ValueError:
        raise QueryError(
            f"Invalid cursor {cursor!r}: use the 'next' value of the previous page "
            "with the same filter and sort.",
            cursor,
            0,
        ) from None
    return [
        datetime.datetime.fromisoformat(v["t"]) if isinstance(v, dict) and "t" in v else v
        for v in values
    ]


def _literal(path: tuple[str, ...], value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


def _band(value: float) -> tuple[float, float]:
    """A float as the database may hold it: SQLite parses JSON numbers to within an
    ulp or so, so the cursor's exact value may sort a hair away from the stored one.
    Values this close count as ties (ordered by the later keys)."""
    delta = abs(value) * 1e-14
    return value - delta, value + delta


def _fuzzy(value: Any) -> bool:
    return isinstance(value, float) and math.isfinite(value) and value != 0


def _equal(path: tuple[str, ...], value: Any) -> Node:
    if value is None:
        return Not(Exists(path))
    if _fuzzy(value):
        low, high = _band(value)
        return And((Compare(path, ">=", low), Compare(path, "<=", high)))
    return Compare(path, "==", _literal(path, value))


def _after(path: tuple[str, ...], value: Any, descending: bool) -> Node | None:
    """Runs whose value at path sorts after value (None: none does)."""
    kind = _page_kind(value)
    if kind == "null":
        return None
    later: list[Node] = [Not(Exists(path))]
    if kind == "number":
        low, high = _band(value) if _fuzzy(value) else (value, value)
        later.append(Compare(path, "<", low) if descending else Compare(path, ">", high))
        if path[0] not in _TIME_FIELDS:
            later.append(Compare(path, ">=", ""))  # every string sorts after numbers
    elif kind == "string":
        later.append(Compare(path, "<" if descending else ">", _literal(path, value)))
    if kind in ("number", "string") and path != ("_id",):  # ids are never booleans
        later.append(Compare(path, "in", (True, False)))
    elif kind == "bool" and value is (not descending):
        pass  # the last boolean: only missing values follow
    elif kind == "bool":
        later.append(Compare(path, "==", not value))
    return Or(tuple(later))


def _keyset(keys: list[tuple[tuple[str, ...], bool]], values: list) -> Node:
    branches = []
    for i, (path, descending) in enumerate(keys):
        after = _after(path, values[i], descending)
        if after is not None:
            equal = [_equal(p, values[j]) for j, (p, _) in enumerate(keys[:i])]
            branches.append(And((*equal, after)) if equal else after)
    return Or(tuple(branches)) if branches else Compare(("_id",), "in", ())


def find_page(
    store: Store,
    query: str | None = None,
    *,
    sort: Any = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page:
    """One page of runs matching query in sort order, starting after cursor."""
    if not isinstance(limit, int) or limit < 1:
        raise QueryError(f"limit must be a whole number >= 1, not {limit!r}", str(limit), 0)
    keys = sort_keys(sort)
    node = parse_query(query)
    values = _decode(cursor, len(keys)) if cursor else None
    if values is not None and any(_page_kind(v) == "other" for v in values):
        raise QueryError("Cannot page by a field holding lists or objects.", cursor or "", 0)
    # By id, a plain column or a JSON value: a backend may walk an index (the SQL
    # reader does), applying the cursor itself, as a range on the sorted value.
    records = store.backend.find_sorted(node, keys, limit + 1, store.dead_after, after=values)
    if records is None:
        if values is not None:
            keyset = _keyset(keys, values)
            node = keyset if node is None else And((node, keyset))
        records = store.backend.find_records(node, keys, limit + 1, store.dead_after)
    from sacred.store.run import StoredRun

    runs = [StoredRun(r, store.backend) for r in records[:limit]]
    following = None
    if len(records) > limit and runs:
        last = runs[-1]._record
        following = _encode([get_path(last, path) for path, _ in keys])
    return Page(runs, following)


def count(store: Store, query: str | None = None) -> int:
    """How many runs match query; counted in the database when the backend can."""
    node = parse_query(query)
    counted = store.backend.count_records(node, store.dead_after)
    if counted is not None:
        return counted
    return len(store.backend.find_records(node, [], None, store.dead_after))


def cursor_after(run: Any, sort: Any) -> str:
    """The cursor of the page that starts right after run (in the order of sort)."""
    return _encode([get_path(run._record, path) for path, _ in sort_keys(sort)])
