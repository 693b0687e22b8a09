"""open_store: one string opens any store, through the backend registry
(:mod:`sacred.observers._registry`).

Readers are named by "module:Class" strings and imported only when such a store is
opened, so opening a file store never imports sqlalchemy or pymongo.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

from sacred.exceptions import StoreError
from sacred.observers import _registry

__all__ = ["open_store", "register_backend", "BACKENDS"]


class _Readers(Mapping):
    """``{kind: "module:Class"}`` of the registered readers, read live from the
    registry (so a backend registered later shows up)."""

    def __getitem__(self, kind: str) -> str:
        for entry in _registry.BACKENDS:
            if entry.kind == kind and entry.reader:
                return entry.reader
        raise KeyError(kind)

    def __iter__(self) -> Iterator[str]:
        return iter([b.kind for b in _registry.BACKENDS if b.reader])

    def __len__(self) -> int:
        return sum(1 for b in _registry.BACKENDS if b.reader)

    def pop(self, kind: str, *default: Any) -> Any:
        """Forget the backend of this kind (the table was a plain dict once)."""
        try:
            reader = self[kind]
        except KeyError:
            if default:
                return default[0]
            raise
        _registry.unregister(kind)
        return reader


BACKENDS: Mapping[str, str] = _Readers()


def register_backend(kind: str, target: str, schemes: tuple[str, ...] = ()) -> None:
    """Register a reader ("module:Class") for a kind of store and its URL schemes.

    A whole backend (observer, flag, claimer, lock...) is registered with
    :func:`sacred.observers._registry.register`; this is the reader-only shortcut."""
    try:
        entry = _registry.backend(kind)._replace(reader=target)
        entry = entry._replace(schemes=tuple(dict.fromkeys((*entry.schemes, *schemes))))
    except KeyError:
        entry = _registry.Backend(
            kind=kind,
            observer="",
            short_flag=None,
            long_flag="",
            metavar="",
            help="",
            extra="all",
            driver=None,
            reader=target,
            schemes=tuple(schemes),
        )
    _registry.register(entry)


def _kind_of(location: str) -> tuple[str, str]:
    entry = _registry.backend_for_url(location)
    if "://" not in location and not os.path.isdir(location):
        raise StoreError(
            f"Cannot open store {location!r}: it is neither a directory of runs nor a "
            "database URL (sqlite:///runs.db, postgresql://..., mysql+pymysql://..., "
            "mongodb://host/db)."
        )
    return entry.kind, entry.target(location)


def open_store(location: str | os.PathLike, **options: Any) -> Any:
    """Open the store at location: a file-storage directory, a TinyDB directory,
    ``sqlite:///…``, ``postgresql://…``, ``mysql+pymysql://…`` or ``mongodb://…/db``
    (or a URL of any backend registered since).

    Options: ``dead_after`` (seconds without heartbeat before a RUNNING run reads as
    PROBABLY_DEAD); the rest go to the backend.
    """
    from sacred.store.store import DEFAULT_DEAD_AFTER, Store

    location = os.fspath(location)
    dead_after = options.pop("dead_after", DEFAULT_DEAD_AFTER)
    kind, _ = _kind_of(location)
    entry = _registry.backend(kind)
    if entry.reader is None:
        entry.open_reader(location)  # says the store cannot be read
    purpose = f"Opening {location!r}"
    cls = entry.load(entry.reader, purpose=purpose)
    try:
        backend = cls(entry.target(location), **options)
    except ImportError as exc:  # a reader imports its driver when it opens the store
        raise entry.missing_package(exc, purpose) from None
    return Store(backend, location=location, dead_after=dead_after)
