"""The TinyDB backend: TinyDbObserver and TinyDbReader (observer.py); the store reader
(reader.py)."""

from sacred.observers.tinydb_hashfs.observer import TinyDbObserver, TinyDbReader

__all__ = ["TinyDbObserver", "TinyDbReader"]
