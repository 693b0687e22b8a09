"""One query interface over every store: ``open_store(location).find(query)``.

See docs/store.md and sacred.store.query for the query language.
"""

from sacred.store.base import DamagedRunError, DamagedRunWarning, MissingExtraError
from sacred.store.query import parse_query
from sacred.store.registry import open_store, register_backend
from sacred.store.run import StoredRun
from sacred.store.store import Store

__all__ = [
    "open_store",
    "register_backend",
    "Store",
    "StoredRun",
    "parse_query",
    "DamagedRunWarning",
    "DamagedRunError",
    "MissingExtraError",
]
