"""The MongoDB backend: MongoObserver writes the documented layout; the store reader
(reader.py) queries it."""

from sacred.observers.mongo.observer import MongoObserver, QueuedMongoObserver

__all__ = ["MongoObserver", "QueuedMongoObserver"]
