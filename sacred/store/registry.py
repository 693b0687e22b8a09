"""open_store: one string opens any store; a registry maps it to the backend reader.

Readers are named by "module:Class" strings and imported only when such a store is
opened, so opening a file store never imports sqlalchemy or pymongo.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from sacred.exceptions import StoreError, did_you_mean
from sacred.observers._registry import BACKENDS as _REGISTERED

__all__ = ["open_store", "register_backend", "BACKENDS"]

# Filled from the backends' registration (sacred/observers/_registry.py); more can be
# added with register_backend.
BACKENDS: dict[str, str] = {b.kind: b.reader for b in _REGISTERED if b.reader}
_SCHEMES: dict[str, str] = {scheme: b.kind for b in _REGISTERED for scheme in b.schemes}
_EXTRAS: dict[str, str] = {b.kind: b.extra for b in _REGISTERED}


def register_backend(kind: str, target: str, schemes: tuple[str, ...] = ()) -> None:
    """Register a reader ("module:Class") for a kind of store and its URL schemes."""
    BACKENDS[kind] = target
    for scheme in schemes:
        _SCHEMES[scheme] = kind


def _kind_of(location: str) -> tuple[str, str]:
    if "://" in location:
        scheme = location.split("://", 1)[0].split("+", 1)[0].lower()
        kind = _SCHEMES.get(scheme)
        if kind is None:
            raise StoreError(
                f"Unknown kind of store {location!r}: the scheme {scheme!r} is not one of "
                f"{', '.join(sorted(_SCHEMES))}.{did_you_mean(scheme, _SCHEMES)}"
            )
        if kind in ("file", "tinydb"):
            location = location.split("://", 1)[1]
        return kind, location
    if os.path.isdir(location):
        if os.path.isfile(os.path.join(location, "metadata.json")):
            return "tinydb", location
        return "file", location
    raise StoreError(
        f"Cannot open store {location!r}: it is neither a directory of runs nor a database "
        "URL (sqlite:///runs.db, postgresql://..., mysql+pymysql://..., mongodb://host/db)."
    )


def open_store(location: str | os.PathLike, **options: Any):
    """Open the store at location: a file-storage directory, a TinyDB directory,
    ``sqlite:///…``, ``postgresql://…``, ``mysql+pymysql://…`` or ``mongodb://…/db``.

    Options: ``dead_after`` (seconds without heartbeat before a RUNNING run reads as
    PROBABLY_DEAD); the rest go to the backend.
    """
    from sacred.store.store import DEFAULT_DEAD_AFTER, Store

    location = os.fspath(location)
    dead_after = options.pop("dead_after", DEFAULT_DEAD_AFTER)
    kind, target_location = _kind_of(location)
    module_name, _, class_name = BACKENDS[kind].partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except ImportError as exc:
        extra = _EXTRAS.get(kind, "all")
        raise StoreError(
            f"Opening {location!r} needs a package that is not installed ({exc.name or exc}): "
            f"pip install 'sacred[{extra}]'"
        ) from None
    return Store(cls(target_location, **options), location=location, dead_after=dead_after)
