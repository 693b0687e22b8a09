"""Filtering by captured output, which the store's query language cannot do (the
output is not loaded with the runs): the board reads each candidate's output and
searches it with a regular expression, page by page."""

from __future__ import annotations

import re
from typing import Any

from sacred.exceptions import QueryError

__all__ = ["OutputFilter", "find_page_by_output", "count_by_output"]

BATCH = 200


class OutputFilter:
    def __init__(self, pattern: str, negate: bool = False) -> None:
        from sacred.store.saferegex import compile_search

        try:
            re.compile(pattern)
        except re.error as exc:
            raise QueryError(
                f"Invalid regular expression for .captured_out: {exc}", pattern, exc.pos or 0
            ) from None
        # linear time where it can be; a pattern that could backtrack for minutes
        # on a long output is refused (sacred.store.saferegex)
        self.search = compile_search(pattern)
        self.negate = negate

    def __call__(self, run: Any) -> bool:
        return self.search(run.captured_out or "") != self.negate


def find_page_by_output(
    store: Any, query: str | None, sort: str, limit: int, cursor: str | None, accept: OutputFilter
):
    """Like sacred.store.paging.find_page, keeping only runs whose output accept()s."""
    from sacred.store.paging import Page, cursor_after, find_page

    found: list = []
    while True:
        page = find_page(store, query, sort=sort, limit=BATCH, cursor=cursor)
        for run in page.runs:
            if accept(run):
                found.append(run)
                if len(found) == limit:
                    return Page(found, cursor_after(run, sort))
        if page.next is None:
            return Page(found, None)
        cursor = page.next


def count_by_output(store: Any, query: str | None, accept: OutputFilter) -> int:
    page = find_page_by_output(store, query, "-id", 10**9, None, accept)
    return len(page.runs)
