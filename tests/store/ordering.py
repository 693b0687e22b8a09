"""The order of runs a sort gives: the Python reference's, and a walk through keyset
pages (for the tests of the SQL reader's own pages)."""

from __future__ import annotations

from sacred.store.base import StoreBackend
from sacred.store.paging import find_page, sort_keys
from sacred.store.query import parse_query


def reference_order(store, query: str | None, sort: str) -> list:
    """The run ids in the Python reference's order (every record loaded and sorted)."""
    records = StoreBackend.find_records(
        store.backend, parse_query(query), sort_keys(sort), None, store.dead_after
    )
    return [record["_id"] for record in records]


def walk_pages(store, query: str | None, sort: str, limit: int, most: int = 100) -> list:
    """The run ids of every page, following the cursors (at most ``most`` pages)."""
    walked, cursor = [], None
    for _ in range(most):
        page = find_page(store, query, sort=sort, limit=limit, cursor=cursor)
        walked += [run.id for run in page.runs]
        if (cursor := page.next) is None:
            break
    return walked
