"""The claim rules, in one low module: what a claim is, how a lost run is handled, and
the fence every write of a claimed run passes.

Used by the backends' claimers (``sacred/observers/<backend>/claim.py``), their
observers, the workers (:mod:`sacred.worker`) and Labwatch's trials; it imports
nothing from them, so there is no import cycle.

A claim moves a run QUEUED -> RUNNING and writes ``meta.claim = {"worker", "token",
"attempt", "time"}`` and one entry of ``meta.attempts``. The token is the *fence*: a
process started for the claim gets it in ``SACRED_CLAIM_TOKEN``, its observer takes
the record over only under it, and every later write of that attempt (heartbeat,
metrics, artifacts, the end) is conditional on the record still holding it. A run
re-queued because its worker looked dead loses ``meta.claim``; the next claim writes
a new token; so a worker that was only frozen can never write into the run again:
its observer sees the fence, says so in one line and stops the run
(:class:`Fence`).
"""

from __future__ import annotations

import abc
import datetime
import os
import secrets
import socket
import sys
import threading
from dataclasses import dataclass, field
from typing import Any

from sacred._time import utc_now
from sacred._worker_env import CLAIM_TOKEN_ENV, WORKER_META_ENV, claim_token, inherited_meta

__all__ = [
    "CLAIM_TOKEN_ENV",
    "WORKER_META_ENV",
    "DEFAULT_MAX_RETRIES",
    "RESUMABLE",
    "ClaimedRun",
    "Claimer",
    "Fence",
    "claim_token",
    "claimed_by_this_process",
    "holds_claim",
    "judged_stale",
    "inherited_meta",
    "is_stale",
    "stale_to_requeue",
    "last_seen",
    "lost_claim",
    "lost_run",
    "new_claim",
    "not_resumable",
    "resume_claim",
    "retries_used",
    "sort_key",
    "worker_name",
]

DEFAULT_MAX_RETRIES = 2

# Statuses a run can be resumed from: a QUEUED run is simply started, and a RUNNING
# one belongs to a live process (or waits for a worker to re-queue it).
RESUMABLE = ("COMPLETED", "FAILED", "INTERRUPTED", "TIMEOUT")


# -- the claim -------------------------------------------------------------------------


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


class Claimer(abc.ABC):
    """One store's claim primitive (each backend's ``claim.py``; registered in its
    :class:`sacred.observers._registry.Backend` entry).

    ``claim`` and ``requeue_stale`` are atomic in the store's own idiom, so two
    workers never get one run and a lost run is re-queued once."""

    @classmethod
    def from_observer(cls, observer: Any) -> Claimer:
        """A claimer on the store an observer of this backend writes to."""
        raise NotImplementedError(f"{cls.__name__} cannot be made from an observer")

    @abc.abstractmethod
    def claim(self, worker: str, experiment: str | None = None) -> ClaimedRun | None:
        """Move the best QUEUED run (highest ``meta.priority``, then oldest queue
        time) to RUNNING under a new claim (:func:`new_claim`); None: nothing queued."""

    @abc.abstractmethod
    def requeue_stale(
        self, stale_after: float, max_retries: int, only: Any = None
    ) -> list[tuple[Any, str]]:
        """Put RUNNING runs whose heartbeat (or claim) is older than ``stale_after``
        seconds back to QUEUED, or FAILED once their retries are used up
        (:func:`lost_run`); ``[(run_id, new_status)]``. ``only``: the id of the one
        run to judge (Labwatch's retry of a dead trial), instead of every run; a QUEUED
        run holding a stale claim is judged then too (:func:`judged_stale`)."""

    @abc.abstractmethod
    def release(self, run: ClaimedRun, status: str, reason: str) -> bool:
        """End a claimed run its process left RUNNING; False when the claim is no
        longer the run's (it was re-queued and claimed again, or it ended)."""

    @abc.abstractmethod
    def sources(self, run: ClaimedRun) -> dict[str, bytes]:
        """The stored source files of a run as ``{relative path: bytes}``."""

    @abc.abstractmethod
    def stored_start(self, run_id: Any) -> tuple[str, dict, dict]:
        """``(command, config, meta)`` a stored run was started with (StoreError when
        there is no such run)."""

    @abc.abstractmethod
    def claim_for_resume(self, run_id: Any, worker: str) -> ClaimedRun:
        """Move one stopped run (:data:`RESUMABLE`) to RUNNING under a new claim."""

    @abc.abstractmethod
    def resume_state(self, run_id: Any) -> tuple[str, dict[str, int]]:
        """``(captured_out, {metric: last step})`` of a stored run."""

    def stored_run(self, run_id: Any) -> ClaimedRun:
        """A stored run as a :class:`ClaimedRun` with an empty token, without claiming
        it (read only, for the checks before a resume; StoreError when there is no such
        run)."""
        raise NotImplementedError(f"{type(self).__name__} cannot read a stored run")

    @abc.abstractmethod
    def observer_args(self) -> list[str]:
        """The command-line flag that attaches this store's observer to a child run."""

    def close(self) -> None:  # noqa: B027 - nothing to release by default
        """Release connections (nothing by default)."""


def worker_name() -> str:
    """``host:pid``: who holds a claim (a worker on another machine is told apart)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def new_claim(meta: dict, worker: str) -> dict:
    """The meta of a run once ``worker`` claimed it: a fresh token, one more attempt
    (its number is the claim's ``attempt``, counted from 1)."""
    now = utc_now()
    attempts = list(meta.get("attempts") or [])
    attempts.append({"worker": worker, "claimed": now.isoformat()})
    claim = {
        "worker": worker,
        "token": secrets.token_hex(16),
        "attempt": len(attempts),
        "time": now.isoformat(),
    }
    return {**meta, "claim": claim, "attempts": attempts}


def resume_claim(meta: dict, worker: str, status: str, stop_time: Any) -> dict:
    """The meta of a stopped run taken up again: the attempt records what it resumed."""
    out = new_claim(meta, worker)
    out["attempts"][-1].update(resumed_after=status, previous_stop_time=str(stop_time))
    return out


def not_resumable(run_id: Any, status: Any) -> str:
    return (
        f"--resume {run_id}: the run is {status}; only a stopped run "
        f"({', '.join(RESUMABLE)}) can be resumed (a RUNNING one is still going or waits "
        "for a worker to re-queue it; a QUEUED one is started by a worker)."
    )


def lost_claim(meta: dict, reason: str) -> dict:
    """The meta of a run whose worker vanished: the last attempt records why, and the
    claim (the fence) is gone, so that attempt can write nothing more."""
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


def _as_time(value: Any) -> datetime.datetime | None:
    if isinstance(value, datetime.datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def last_seen(record: dict) -> datetime.datetime | None:
    """A stored run's last sign of life: its heartbeat, else its start, else its
    claim's time (stored datetimes or ISO strings)."""
    last = _as_time(record.get("heartbeat")) or _as_time(record.get("start_time"))
    return last or _as_time(((record.get("meta") or {}).get("claim") or {}).get("time"))


def is_stale(record: dict, limit: datetime.datetime) -> bool:
    """True when a stored run was last seen at or before ``limit``."""
    last = last_seen(record)
    return last is not None and last <= limit


def judged_stale(status: Any, meta: Any, only: Any) -> bool:
    """Whether ``requeue_stale`` judges a run in this state (by its last sign of life):
    every RUNNING run; and, for the one run named by ``only`` (Labwatch's retry of a
    dead trial), a QUEUED run that holds a claim: claimed for a process that has not
    taken it over yet. Taking that claim away fences the process if it starts late,
    as it fences a RUNNING one that was only frozen. A worker's general re-queue
    leaves QUEUED runs alone: a claim of its own never leaves a run QUEUED."""
    if status == "RUNNING":
        return True
    return (
        only is not None
        and status == "QUEUED"
        and isinstance(meta, dict)
        and isinstance(meta.get("claim"), dict)
    )


def stale_to_requeue(record: dict, limit: datetime.datetime, only: Any) -> bool:
    """Whether ``requeue_stale`` takes this stored run back: a run in a state it judges
    (:func:`judged_stale`) last seen at or before ``limit`` (:func:`is_stale`)."""
    return judged_stale(record.get("status"), record.get("meta"), only) and is_stale(record, limit)


def sort_key(priority: Any, queue_time: Any) -> tuple:
    """Highest priority first, then the oldest queue time."""
    p = priority if isinstance(priority, (int, float)) and not isinstance(priority, bool) else 0
    return (-p, str(queue_time or ""))


# -- the process a claim was handed to ----------------------------------------------------


def holds_claim(meta: Any, token: str | None) -> bool:
    """True when a stored run's meta holds the claim ``token``."""
    if token is None or not isinstance(meta, dict):
        return False
    claim = meta.get("claim")
    return isinstance(claim, dict) and claim.get("token") == token


def claimed_by_this_process(meta: Any) -> bool:
    """True when a stored run's meta holds the claim token this process was given."""
    return holds_claim(meta, claim_token())


# -- the fence -------------------------------------------------------------------------


class Fence:
    """The claim an observer's writes are conditional on, once it took a claimed
    record over. Each backend checks it its own way, atomically with the write (one
    conditional UPDATE on SQL, a filtered update on Mongo, a lock-and-check on
    files), and calls :meth:`lost` when the record no longer holds the token."""

    def __init__(self, run_id: Any, token: str) -> None:
        self.run_id = run_id
        self.token = token
        self.is_lost = False
        self._said = threading.Lock()

    def lost(self, where: str = "") -> None:
        """The run was handed to another attempt: say so once, write nothing more,
        and stop the run (its main function is interrupted)."""
        with self._said:
            if self.is_lost:
                return
            self.is_lost = True
        place = f" in {where}" if where else ""
        print(
            f"sacred: run {self.run_id}{place} no longer holds this process's claim "
            "(it was re-queued after its heartbeat went stale and handed to another "
            "attempt): stopping this attempt without writing to the run again.",
            file=sys.stderr,
            flush=True,
        )
        _stop_main_thread()


def _stop_main_thread() -> None:
    """Interrupt the run's main function: with SIGTERM where the run handles it (it
    then ends as an interrupted run, whose final record the fence drops), else with
    KeyboardInterrupt. From the main thread itself nothing is needed: the write that
    found the fence is the run's last one anyway."""
    import _thread
    import signal

    main = threading.main_thread()
    if threading.current_thread() is main or not main.is_alive():
        return
    handler = signal.getsignal(signal.SIGTERM)
    if callable(handler) and hasattr(signal, "pthread_kill") and main.ident is not None:
        signal.pthread_kill(main.ident, signal.SIGTERM)  # wakes a sleeping main thread
    else:
        _thread.interrupt_main()
