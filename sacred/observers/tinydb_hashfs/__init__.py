"""The TinyDB backend: TinyDbObserver (observer.py); TinyDbReader and the store reader
(reader.py)."""

from sacred.observers.tinydb_hashfs.observer import TinyDbObserver
from sacred.observers.tinydb_hashfs.reader import TinyDbReader

__all__ = ["TinyDbObserver", "TinyDbReader"]
