"""Queries as people type them: a bare name is a configuration entry when the store's
runs have it (``lr > 0.1`` reads ``config.lr > 0.1``, as in the board's filter
rows), and an unknown name gets the nearest configuration entries and fields as
suggestions ("did you mean config.lr?"). Used by the board's query box and by
``sacred runs --filter``; ``store.find`` itself keeps the strict language.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from sacred.exceptions import QueryError
from sacred.store.query import FIELDS, parse_query

__all__ = ["resolve_query", "config_names"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
#: How many of the newest runs tell which configuration entries the store has.
SAMPLE = 200


def config_names(store: Any, sample: int = SAMPLE) -> set[str]:
    """The top-level configuration entries of the newest sample runs."""
    from sacred.store.values import read_values

    names: set[str] = set()
    for _, (config,) in read_values(store, None, [("config",)], limit=sample):
        if isinstance(config, dict):
            names.update(str(key) for key in config)
    return names


def resolve_query(store: Any, text: str | None) -> str | None:
    """text with each bare name the configuration has written as ``config.<name>``;
    a QueryError suggesting the nearest names for one it has not."""
    if text is None or not text.strip():
        return text
    known: set[str] | None = None
    for _ in range(64):  # at most one rewrite per unknown name
        try:
            parse_query(text)
            return text
        except QueryError as exc:
            if not str(exc).startswith("Unknown field"):
                raise
            position = exc.position if isinstance(exc.position, int) else -1
            found = _NAME.match(text, position) if position >= 0 else None
            if found is None:
                raise
            head = found.group(0)
            if known is None:
                known = config_names(store)
            if head not in known:
                raise _unknown(exc, head, known) from None
            text = f"{text[:position]}config.{text[position:]}"
    return text


def _unknown(exc: QueryError, head: str, known: set[str]) -> QueryError:
    config = difflib.get_close_matches(head, sorted(known), n=3, cutoff=0.6)
    fields = difflib.get_close_matches(head, sorted(FIELDS - {"_id"}), n=2, cutoff=0.6)
    suggestions = [f"config.{name}" for name in config] + fields
    quoted = [f'"{name}"' for name in suggestions]
    hint = f" Did you mean {' or '.join(quoted)}?" if suggestions else ""
    return QueryError(
        f"Unknown field {head!r}: neither a configuration entry of the store's runs nor "
        f"a field ({', '.join(sorted(FIELDS - {'_id'}))}).{hint}",
        exc.query,
        exc.position,
    )
