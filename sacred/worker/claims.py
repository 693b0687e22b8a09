"""The claim primitive's interface and the dispatcher that picks a backend's claimer.

A claimer owns one store and offers:

``claim(worker, experiment=None)``
    atomically move the best QUEUED run (highest ``meta.priority``, then oldest queue
    time) to RUNNING, recording ``meta.claim = {"worker", "token", "time"}`` and a new
    entry in ``meta.attempts``; return a :class:`ClaimedRun`, or None when nothing is
    queued. Two workers never get the same run.
``requeue_stale(stale_after, max_retries)``
    put RUNNING runs whose heartbeat (or claim) is older than ``stale_after`` seconds
    back to QUEUED, or mark them FAILED once they used up ``max_retries`` retries;
    each such transition is atomic too. Returns ``[(run_id, new_status)]``.
``release(run, status, reason)``
    end a claimed run its process left RUNNING (it died before recording its end).
``stored_start(run_id)``
    ``(command, config, meta)`` a stored run was started with (read only; StoreError
    when there is no such run).
``claim_for_resume(run_id, worker)``
    atomically move one stopped run (:data:`RESUMABLE`) to RUNNING under a new claim.
``resume_state(run_id)``
    ``(captured_out, {metric: last step})`` of a stored run.
``sources(run)``
    the stored source files of a run as ``{relative path: bytes}``.
``observer_args()``
    the command-line flag that attaches this store's observer to a child run.
``close()``
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass, field
from typing import Any, Protocol

from sacred._time import utc_now

__all__ = ["ClaimedRun", "Claimer", "open_claimer", "new_claim", "DEFAULT_MAX_RETRIES"]

DEFAULT_MAX_RETRIES = 2


@dataclass
class ClaimedRun:
    """A run a worker holds: everything needed to start it elsewhere."""

    run_id: Any
    token: str
    command: str
    config: dict
    meta: dict
    experiment: dict = field(default_factory=dict)
    # backend-specific handle for reading the sources (a row id, the record...)
    handle: Any = None


class Claimer(Protocol):
    def claim(self, worker: str, experiment: str | None = None) -> ClaimedRun | None: ...

    def requeue_stale(self, stale_after: float, max_retries: int) -> list[tuple[Any, str]]: ...

    def release(self, run: ClaimedRun, status: str, reason: str) -> bool: ...

    def sources(self, run: ClaimedRun) -> dict[str, bytes]: ...

    def stored_start(self, run_id: Any) -> tuple[str, dict, dict]: ...

    def claim_for_resume(self, run_id: Any, worker: str) -> ClaimedRun: ...

    def resume_state(self, run_id: Any) -> tuple[str, dict[str, int]]: ...

    def observer_args(self) -> list[str]: ...

    def close(self) -> None: ...


def worker_name() -> str:
    """``host:pid``: who holds a claim (a worker on another machine is told apart)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def new_claim(meta: dict, worker: str) -> dict:
    """The meta of a run once ``worker`` claimed it: a fresh token, one more attempt."""
    now = utc_now()
    claim = {"worker": worker, "token": secrets.token_hex(16), "time": now.isoformat()}
    attempts = list(meta.get("attempts") or [])
    attempts.append({"worker": worker, "claimed": now.isoformat()})
    return {**meta, "claim": claim, "attempts": attempts}


def resume_claim(meta: dict, worker: str, status: str, stop_time: Any) -> dict:
    """The meta of a stopped run taken up again: the attempt records what it resumed."""
    out = new_claim(meta, worker)
    out["attempts"][-1].update(resumed_after=status, previous_stop_time=str(stop_time))
    return out


# Statuses a run can be resumed from: a QUEUED run is simply started, and a RUNNING
# one belongs to a live process (or waits for a worker to re-queue it).
RESUMABLE = ("COMPLETED", "FAILED", "INTERRUPTED", "TIMEOUT")


def not_resumable(run_id: Any, status: Any) -> str:
    return (
        f"--resume {run_id}: the run is {status}; only a stopped run "
        f"({', '.join(RESUMABLE)}) can be resumed (a RUNNING one is still going or waits "
        "for a worker to re-queue it; a QUEUED one is started by a worker)."
    )


def claimer_for_observer(observer: Any) -> Claimer | None:
    """The claimer of the store an observer writes to (None: not a claiming backend)."""
    from sacred.observers._registry import backend_for_observer

    entry = backend_for_observer(observer)
    if entry is None or entry.claimer is None:
        return None
    return entry.claimer_for(observer)


def lost_claim(meta: dict, reason: str) -> dict:
    """The meta of a run whose worker vanished: the last attempt records why."""
    attempts = [dict(a) for a in meta.get("attempts") or []]
    if attempts:
        attempts[-1]["outcome"] = reason
    out = {**meta, "attempts": attempts}
    out.pop("claim", None)
    return out


def retries_used(meta: dict) -> int:
    return max(0, len(meta.get("attempts") or []) - 1)


def lost_run(meta: dict, last_seen: Any, max_retries: int) -> tuple[dict, dict]:
    """What becomes of a run whose worker was lost (no heartbeat since ``last_seen``):
    its new meta, and the fields to store: back to QUEUED, or FAILED with the reason
    once its retries are used up. Every backend's ``requeue_stale`` applies these."""
    when = last_seen.isoformat() if hasattr(last_seen, "isoformat") else (last_seen or "?")
    reason = f"worker lost: no heartbeat since {when}"
    meta = lost_claim(meta, reason)
    if retries_used(meta) >= max_retries:
        attempts = len(meta["attempts"])
        return meta, {
            "status": "FAILED",
            "stop_time": utc_now(),
            "fail_trace": [f"{reason}; gave up after {attempts} attempts"],
        }
    return meta, {"status": "QUEUED", "heartbeat": None}


def sort_key(priority: Any, queue_time: Any) -> tuple:
    """Highest priority first, then the oldest queue time."""
    p = priority if isinstance(priority, (int, float)) and not isinstance(priority, bool) else 0
    return (-p, str(queue_time or ""))


def open_claimer(location: Any, **options: Any) -> Claimer:
    """The claimer for a store: a directory (file storage), an SQLAlchemy URL
    (sqlite, postgresql, mysql/mariadb), a MongoDB URL (``mongodb://``,
    ``mongomock://``), or a URL of another registered backend with a claimer."""
    from sacred.observers._registry import backend_for_url

    return backend_for_url(location).open_claimer(location, **options)
