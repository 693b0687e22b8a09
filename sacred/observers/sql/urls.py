"""Database URLs as users write them, made usable by the drivers that are installed."""

from __future__ import annotations

import importlib.util
import json
from typing import Any

__all__ = ["driver_url", "engine_options", "dumps_keeping_floats"]


def _has_mysqldb() -> bool:
    try:
        return importlib.util.find_spec("MySQLdb") is not None
    except (ImportError, ValueError):
        return False


def driver_url(url: str) -> str:
    """``url`` with a driver SQLAlchemy can load.

    The documentation (and the original) shows ``mysql://user@host/db``, which
    SQLAlchemy maps to the MySQLdb driver (mysqlclient, a C extension that often is not
    installed); the ``sql`` extra installs PyMySQL instead. A URL naming no driver is
    therefore given PyMySQL when MySQLdb cannot be imported. URLs naming a driver, and
    every other database, are left as they are.
    """
    scheme, sep, rest = url.partition("://")
    if sep and scheme.lower() in ("mysql", "mariadb") and not _has_mysqldb():
        return f"{scheme}+pymysql://{rest}"
    return url


def engine_options(url: str) -> dict[str, Any]:
    """``create_engine`` options our engines need on this database.

    PostgreSQL's JSONB stores numbers as ``numeric`` and prints ``1e+16`` back as
    ``10000000000000000``, which reads as an int: there floats are written so that
    they keep a decimal point (``dumps_keeping_floats``).
    """
    scheme = url.partition("://")[0].partition("+")[0].lower()
    if scheme in ("postgresql", "postgres"):
        return {"json_serializer": dumps_keeping_floats}
    return {}


_MARK = "\x00sacred-float:"


def dumps_keeping_floats(value: Any) -> str:
    """JSON text in which every float written with an exponent but no decimal point
    (``1e+16``: Python's form for whole floats from 1e16 on) is written out with one
    (``10000000000000000.0``), so that JSONB keeps it a float."""
    text = json.dumps(value)
    if "e+" not in text:  # the common case costs one scan
        return text
    whole: list[str] = []
    marked = _mark_whole_floats(value, whole)
    text = json.dumps(marked)
    for i, digits in enumerate(whole):
        # NUL is escaped in JSON text; no string a user stores in JSONB can hold one.
        text = text.replace(json.dumps(f"{_MARK}{i}\x00"), digits, 1)
    return text


def _mark_whole_floats(value: Any, whole: list[str]) -> Any:
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")) or "e+" not in repr(value):
            return value
        whole.append(f"{int(value)}.0")
        return f"{_MARK}{len(whole) - 1}\x00"
    if isinstance(value, dict):
        return {k: _mark_whole_floats(v, whole) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_mark_whole_floats(v, whole) for v in value]
    return value
