"""Opening a store's claimer, through the backend registry
(:mod:`sacred.observers._registry`): ``open_claimer(location)`` and
``claimer_for_observer(observer)``.

The claim rules and the :class:`Claimer` interface live in the low module
:mod:`sacred.observers.claiming` (shared with the observers and Labwatch); they are
named here too for the worker side.
"""

from __future__ import annotations

from typing import Any

from sacred.observers.claiming import (
    DEFAULT_MAX_RETRIES,
    RESUMABLE,
    ClaimedRun,
    Claimer,
    lost_claim,
    lost_run,
    new_claim,
    not_resumable,
    resume_claim,
    retries_used,
    sort_key,
    worker_name,
)

__all__ = [
    "ClaimedRun",
    "Claimer",
    "open_claimer",
    "claimer_for_observer",
    "new_claim",
    "resume_claim",
    "lost_claim",
    "lost_run",
    "retries_used",
    "sort_key",
    "not_resumable",
    "worker_name",
    "RESUMABLE",
    "DEFAULT_MAX_RETRIES",
]


def claimer_for_observer(observer: Any) -> Claimer | None:
    """The claimer of the store an observer writes to (None: not a claiming backend)."""
    from sacred.observers._registry import backend_for_observer

    entry = backend_for_observer(observer)
    if entry is None or entry.claimer is None:
        return None
    return entry.claimer_for(observer)


def open_claimer(location: Any, **options: Any) -> Claimer:
    """The claimer for a store: a directory (file storage), an SQLAlchemy URL
    (sqlite, postgresql, mysql/mariadb), a MongoDB URL (``mongodb://``,
    ``mongomock://``), or a URL of another registered backend with a claimer."""
    from sacred.observers._registry import backend_for_url

    return backend_for_url(location).open_claimer(location, **options)
