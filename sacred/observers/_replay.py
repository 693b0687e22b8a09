"""Replaying a QueueObserver dump into a store: ``sacred replay DUMP URL``.

A dump (docs/observers.md, "QueueObserver") holds a whole run as JSON lines: the
start event with the run's id, then every event in the order the run reported it.
Replaying delivers them to a fresh observer of the target store, with times turned
back into datetimes, captured output reassembled and artifact files taken from the
copies beside the dump when the originals are gone.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
from collections.abc import Iterator
from typing import Any

from sacred._time import parse_stored_time
from sacred.exceptions import ObserverError, StoreError
from sacred.observers.base import RunObserver

__all__ = ["replay_dump", "read_dump", "observer_for", "replay_into"]

_SQL_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb")
_TIME_KEYS = ("start_time", "queue_time", "beat_time", "stop_time", "fail_time", "interrupt_time")


class DumpError(ObserverError):
    """A dump file that cannot be replayed."""


def read_dump(dump_path: str | os.PathLike) -> Iterator[dict]:
    """The dump's events in order: ``{"event", "args", "kwargs"}`` with times as
    datetimes and each heartbeat's full captured output. A last line cut off by a
    killed process ends the dump."""
    dump_path = os.fspath(dump_path)
    try:
        f = open(dump_path, encoding="utf-8")
    except OSError as exc:
        raise DumpError(f"Cannot read the dump {dump_path!r}: {exc.strerror}.") from None
    captured_out = ""
    with f:
        for number, line in enumerate(f, 1):
            try:
                item = json.loads(line)
            except ValueError:
                if not line.endswith("\n"):  # the last write of a killed process
                    return
                raise DumpError(
                    f"Line {number} of the dump {dump_path!r} is not JSON; the file is "
                    "damaged (only its last line may be cut off)."
                ) from None
            if number == 1 and item.get("event") not in ("started_event", "queued_event"):
                raise DumpError(
                    f"{dump_path!r} is not a QueueObserver dump: it does not begin with the "
                    "run's start event."
                )
            kwargs = {
                k: parse_stored_time(v) if k in _TIME_KEYS else v for k, v in item["kwargs"].items()
            }
            args = list(item["args"])
            if item["event"] == "heartbeat_event":
                if "captured_out" in kwargs:
                    captured_out = kwargs["captured_out"] or ""
                else:
                    captured_out += item.get("captured_out_append", "")
                    kwargs["captured_out"] = captured_out
            elif item["event"] == "log_metrics":
                args[0] = {
                    name: {
                        **series,
                        "timestamps": [parse_stored_time(t) for t in series["timestamps"]],
                    }
                    for name, series in args[0].items()
                }
            elif item["event"] == "artifact_event":
                args[1] = _artifact_file(dump_path, args[1])
            yield {"event": item["event"], "args": args, "kwargs": kwargs, "line": item}


def _artifact_file(dump_path: str, filename: str) -> str:
    from sacred.observers.queue import artifact_copy_name, dump_files_dir

    copy = os.path.join(dump_files_dir(dump_path), artifact_copy_name(filename))
    return copy if os.path.exists(copy) else filename


def replay_dump(
    dump_path: str | os.PathLike, observer: RunObserver, *, new_id: bool = False
) -> Any:
    """Deliver the run in the dump to ``observer``; returns its id there.

    Runs of heartbeats are delivered as their last one (each carries the whole state).
    """
    run_id = None
    pending_beat: dict | None = None
    for item in read_dump(dump_path):
        event = item["event"]
        if event == "heartbeat_event":
            pending_beat = item
            continue
        if pending_beat is not None:
            observer.heartbeat_event(**pending_beat["kwargs"])
            pending_beat = None
        if event in ("started_event", "queued_event"):
            kwargs = dict(item["kwargs"])
            if new_id:
                kwargs["_id"] = None
            returned = getattr(observer, event)(**kwargs)
            run_id = kwargs["_id"] if returned is None else returned
        else:
            getattr(observer, event)(*item["args"], **item["kwargs"])
    if pending_beat is not None:
        observer.heartbeat_event(**pending_beat["kwargs"])
    if hasattr(observer, "join"):
        observer.join()
    return run_id


def observer_for(target: str) -> RunObserver:
    """A fresh observer for a store: a database URL (``sqlite:///runs.db``,
    ``postgresql+psycopg://…``, ``mysql+pymysql://…``), ``mongodb://host/db``,
    ``tinydb://DIR``, or a directory (``file://DIR``) of the file store — any
    registered backend's location (sacred.observers._registry)."""
    from sacred.observers._registry import BACKENDS, backend_for_url, scheme_of

    scheme = scheme_of(target)
    if scheme and not any(scheme in b.schemes for b in BACKENDS):
        raise ObserverError(
            f"Cannot replay into {target!r}: unknown scheme {scheme!r}. Give a database "
            "URL (sqlite:///runs.db, postgresql+psycopg://user@host/db, "
            "mysql+pymysql://user@host/db, mongodb://host/db), tinydb://DIR or a "
            "directory for the file store."
        )
    try:
        return backend_for_url(target).observer_for(target)
    except StoreError as exc:
        raise ObserverError(f"Cannot replay into {target!r}: {exc}") from None


def _start_of(dump_path: str) -> dict:
    for item in read_dump(dump_path):
        return item
    raise DumpError(f"The dump {dump_path!r} is empty.")


def _remove_partial_record(target: str, start: dict, out: Any) -> None:
    """The store may hold what was delivered before the outage, under the same id:
    that partial record of this very run is replaced by the complete one. A
    different run with that id is never touched."""
    from sacred.store import open_store

    run_id = start["kwargs"].get("_id")
    if run_id is None:
        return
    try:
        store = open_store(target)
    except StoreError:
        return  # no store there yet: nothing to replace
    with store:
        try:
            existing = store.get(run_id)
        except StoreError:
            return
        started = start["kwargs"].get("start_time")
        name = (start["kwargs"].get("ex_info") or {}).get("name")
        same = (
            existing.start_time is not None
            and isinstance(started, datetime.datetime)
            and abs((existing.start_time - started.replace(tzinfo=None)).total_seconds()) < 1
            and existing.experiment.get("name") == name
        )
        if not same:
            raise ObserverError(
                f"{target} already holds a different run with id {run_id!r} (experiment "
                f"{existing.experiment.get('name')!r}, started {existing.start_time}). "
                "Replay with --new-id to store this run under a new id."
            )
        print(
            f"replacing the partial record of run {run_id} (status {existing.status}) that "
            "was stored before the outage",
            file=out,
        )
        store.delete(run_id)


def replay_into(dump_path: str, target: str, *, new_id: bool = False, out: Any = None) -> Any:
    """What ``sacred replay DUMP URL`` does; returns the run's id in the target."""
    out = out or sys.stdout
    start = _start_of(dump_path)
    if not new_id:
        _remove_partial_record(target, start, out)
    observer = observer_for(target)
    run_id = replay_dump(dump_path, observer, new_id=new_id)
    print(
        f"replayed run {run_id} ({_final_status(dump_path)}) from {dump_path} into {target}",
        file=out,
    )
    return run_id


def _final_status(dump_path: str) -> str:
    status = "RUNNING"  # a run killed during the outage never ended
    for item in read_dump(dump_path):
        if item["event"] == "completed_event":
            status = "COMPLETED"
        elif item["event"] == "failed_event":
            status = "FAILED"
        elif item["event"] == "interrupted_event":
            status = str(item["kwargs"].get("status") or "INTERRUPTED")
    return status


def main_replay(args: Any) -> int:
    """The ``replay`` subcommand of the ``sacred`` console command."""
    try:
        replay_into(args.dump, args.store, new_id=args.new_id)
    except ObserverError as exc:
        print(f"sacred: error: {exc}", file=sys.stderr)
        return 1
    return 0
