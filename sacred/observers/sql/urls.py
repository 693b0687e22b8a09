"""Database URLs as users write them, made usable by the drivers that are installed."""

from __future__ import annotations

import importlib.util

__all__ = ["driver_url"]


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
