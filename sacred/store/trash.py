"""The trash: ``store.delete`` moves a run there, out of every query and view, and
``store.restore`` brings it back until ``store.empty_trash`` deletes it for good.

Each backend keeps its trash in its own layout (StoreBackend.trash_run and the
methods after it); this module holds what is the same for all of them: the checks,
the listing and the age filter of empty_trash."""

from __future__ import annotations

import datetime
from typing import Any

from sacred.exceptions import StoreError
from sacred.store.base import DamagedRunError

__all__ = ["trashed", "find_trashed", "restore", "empty_trash", "as_age"]


def trashed(store: Any) -> list[dict]:
    """``[{"id", "experiment", "trashed_at"}]``, the most recently trashed first."""
    entries = list(store.backend.trashed_runs())
    oldest = datetime.datetime.min
    entries.sort(key=lambda e: (e.get("trashed_at") or oldest, str(e.get("id"))), reverse=True)
    return entries


def find_trashed(store: Any, run_id: Any) -> dict | None:
    for entry in store.backend.trashed_runs():
        if str(entry.get("id")) == str(run_id):
            return entry
    return None


def restore(store: Any, run_id: Any) -> None:
    if find_trashed(store, run_id) is None:
        where = store.location or "the store"
        try:
            live = store.backend.get_record(run_id) is not None
        except DamagedRunError:
            live = True
        if live:
            raise StoreError(f"Run {run_id} in {where} is not in the trash; nothing to restore.")
        raise StoreError(
            f"No run with id {run_id!r} in the trash of {where} (`sacred trash STORE` "
            "lists what is there)."
        )
    store.backend.restore_run(run_id)


def as_age(older_than: Any) -> datetime.timedelta | None:
    """older_than as a timedelta: a timedelta, a number of seconds, or a text like
    ``"30d"``, ``"12h"``, ``"45m"``, ``"90s"``; None keeps no age limit."""
    if older_than is None or isinstance(older_than, datetime.timedelta):
        return older_than
    if isinstance(older_than, (int, float)) and not isinstance(older_than, bool):
        if older_than < 0:
            raise StoreError(f"older_than must be >= 0, not {older_than!r}")
        return datetime.timedelta(seconds=older_than)
    text = str(older_than).strip()
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    number, unit = text[:-1], text[-1:]
    try:
        seconds = float(number) * units[unit]
    except (KeyError, ValueError):
        raise StoreError(
            f"older_than {older_than!r} is not an age: give a number and a unit, "
            'like "30d", "12h", "45m" or "90s"'
        ) from None
    if seconds < 0:
        raise StoreError(f"older_than must be >= 0, not {older_than!r}")
    return datetime.timedelta(seconds=seconds)


def empty_trash(store: Any, older_than: Any = None) -> list[Any]:
    """Delete for good the trashed runs (those trashed longer ago than older_than);
    returns their ids."""
    from sacred._time import utc_now

    age = as_age(older_than)
    cutoff = utc_now() - age if age is not None else None
    purged = []
    for entry in trashed(store):
        when = entry.get("trashed_at")
        if cutoff is not None and isinstance(when, datetime.datetime) and when > cutoff:
            continue
        store.backend.purge_trashed(entry["id"])
        purged.append(entry["id"])
    return purged
