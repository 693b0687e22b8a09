"""The file storage backend: the observer that writes run directories (and, in
reader.py, the store reader that reads them)."""

from sacred.observers.file_storage.observer import FileStorageObserver

__all__ = ["FileStorageObserver"]
