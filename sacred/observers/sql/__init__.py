"""The SQL backend: SqlObserver writes the normalized schema (schema.py), created and
migrated under a lock (versioning.py, locking.py, migrations/); the store reader
(reader.py) queries it, and reads the original sacred's layout too (legacy.py), which
``sacred migrate`` converts (migrate.py)."""

from sacred.observers.sql.observer import SqlObserver

__all__ = ["SqlObserver"]
