"""SQLite's REGEXP through sacred.store.saferegex instead of SQLAlchemy's plain
``re.search``: a pattern runs in linear time (RE2) where it can, and a filter can
no longer hold the GIL for minutes inside a query."""

from __future__ import annotations

from typing import Any

__all__ = ["install_safe_regexp"]


def _regexp(pattern: Any, text: Any) -> Any:
    from sacred.exceptions import QueryError
    from sacred.store.saferegex import compile_search

    if pattern is None or text is None:
        return None
    try:
        return compile_search(str(pattern))(str(text))
    except QueryError:
        return False  # refused when the query was parsed; never reaches here


def install_safe_regexp(engine: Any) -> None:
    """Register REGEXP on every connection engine opens (after SQLAlchemy's own)."""
    import sqlalchemy as sa

    def on_connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.create_function("regexp", 2, _regexp, deterministic=True)

    sa.event.listen(engine, "connect", on_connect)
