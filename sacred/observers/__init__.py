"""Observers record runs: files, SQL databases, MongoDB, TinyDB, S3, GCS, Slack, Telegram.

Each backend lives in its own module or subpackage and is imported on first use, so
that ``import sacred.observers`` never imports a database driver.
"""

from __future__ import annotations

import importlib
import typing as _typing

from sacred.observers.base import RunObserver, td_format

__all__ = [
    "RunObserver",
    "td_format",
    "FileStorageObserver",
    "SqlObserver",
    "TinyDbObserver",
    "TinyDbReader",
    "MongoObserver",
    "QueuedMongoObserver",
    "QueueObserver",
    "S3Observer",
    "GoogleCloudStorageObserver",
    "SlackObserver",
    "TelegramObserver",
]

_LAZY = {
    "FileStorageObserver": "sacred.observers.file_storage",
    "SqlObserver": "sacred.observers.sql",
    "TinyDbObserver": "sacred.observers.tinydb_hashfs",
    "TinyDbReader": "sacred.observers.tinydb_hashfs",
    "MongoObserver": "sacred.observers.mongo",
    "QueuedMongoObserver": "sacred.observers.mongo",
    "QueueObserver": "sacred.observers.queue",
    "S3Observer": "sacred.observers.s3_observer",
    "GoogleCloudStorageObserver": "sacred.observers.gcs_observer",
    "SlackObserver": "sacred.observers.slack",
    "TelegramObserver": "sacred.observers.telegram_obs",
}

if _typing.TYPE_CHECKING:  # pragma: no cover
    from sacred.observers.file_storage import FileStorageObserver
    from sacred.observers.gcs_observer import GoogleCloudStorageObserver
    from sacred.observers.mongo import MongoObserver, QueuedMongoObserver
    from sacred.observers.queue import QueueObserver
    from sacred.observers.s3_observer import S3Observer
    from sacred.observers.slack import SlackObserver
    from sacred.observers.sql import SqlObserver
    from sacred.observers.telegram_obs import TelegramObserver
    from sacred.observers.tinydb_hashfs import TinyDbObserver, TinyDbReader


def __getattr__(name: str) -> _typing.Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sacred.observers' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
