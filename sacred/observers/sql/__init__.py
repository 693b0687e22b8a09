"""The SQL backend: SqlObserver writes the normalized schema (schema.py); the store
reader (reader.py) queries it."""

from sacred.observers.sql.observer import SqlObserver

__all__ = ["SqlObserver"]
