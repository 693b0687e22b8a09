"""Replaying a QueueObserver dump into a store: ``sacred replay DUMP URL``.

A dump (docs/observers.md, "QueueObserver") holds a whole run as JSON lines: the
start event with the run's id, then every event in the order the run reported it.
Replaying delivers them to a fresh observer of the target store, with times turned
back into datetimes, captured output reassembled and artifact files taken from the
copies beside the dump.

A dump is data, not code: only the documented events are delivered, with the
arguments their observer methods take, and only files inside the dump's directory
are read. A line that breaks these rules (or is not UTF-8, not JSON, not an event
object, has a bad time...) is reported with its number and skipped; the other lines
are replayed, and the command keeps the bad lines in ``DUMP.rejected``.
"""

from __future__ import annotations

import datetime
import inspect
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

from sacred._time import parse_stored_time
from sacred.exceptions import ObserverError, StoreError
from sacred.observers.base import RunObserver

__all__ = ["replay_dump", "read_dump", "observer_for", "replay_into", "DumpError", "BadLine"]

logger = logging.getLogger("sacred")

_SQL_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb")
_TIME_KEYS = ("start_time", "queue_time", "beat_time", "stop_time", "fail_time", "interrupt_time")
_START_EVENTS = ("started_event", "queued_event")
# The events a dump may hold: the observer interface's, nothing else is ever called.
EVENTS = (
    *_START_EVENTS,
    "heartbeat_event",
    "log_metrics",
    "resource_event",
    "artifact_event",
    "completed_event",
    "interrupted_event",
    "failed_event",
)
_SIGNATURES = {event: inspect.signature(getattr(RunObserver, event)) for event in EVENTS}
# What each argument must be (beyond the times, checked by parsing them).
_TYPES: dict[str, tuple[type, ...]] = {
    "ex_info": (dict,),
    "host_info": (dict,),
    "config": (dict,),
    "meta_info": (dict,),
    "info": (dict,),
    "metrics_by_name": (dict,),
    "command": (str,),
    "status": (str,),
    "name": (str,),
    "filename": (str,),
    "fail_trace": (list, str),
    "metadata": (dict, type(None)),
    "content_type": (str, type(None)),
    "captured_out": (str, type(None)),
}


class DumpError(ObserverError):
    """A dump file that cannot be replayed."""


class BadLine(ValueError):
    """One line of a dump that is skipped (the message says why)."""


def read_dump(
    dump_path: str | os.PathLike, on_bad_line: Callable[[int, str, bytes], None] | None = None
) -> Iterator[dict]:
    """The dump's events in order: ``{"event", "args", "kwargs"}`` with times as
    datetimes and each heartbeat's full captured output. A last line cut off by a
    killed process ends the dump.

    A bad line after the first is skipped and given to ``on_bad_line(number, message,
    raw bytes)`` (default: logged as a warning); a first line that is not the run's
    start is a DumpError (the file is no dump).
    """
    dump_path = os.fspath(dump_path)
    if on_bad_line is None:
        on_bad_line = _log_bad_line
    try:
        f = open(dump_path, "rb")
    except OSError as exc:
        raise DumpError(f"Cannot read the dump {dump_path!r}: {exc.strerror}.") from None
    captured_out = ""
    with f:
        for number, raw in enumerate(f, 1):
            try:
                item = _parse_line(raw, number, dump_path)
            except _CutOff:
                return
            except BadLine as exc:
                if number == 1:
                    raise DumpError(
                        f"{dump_path!r} is not a QueueObserver dump: its first line is not the "
                        f"run's start event ({exc})."
                    ) from None
                on_bad_line(number, str(exc), raw)
                continue
            kwargs, args = item["kwargs"], item["args"]
            if item["event"] == "heartbeat_event":
                if "captured_out" in kwargs:
                    captured_out = kwargs["captured_out"] or ""
                else:
                    captured_out += item.get("captured_out_append", "")
                    kwargs["captured_out"] = captured_out
            yield {"event": item["event"], "args": args, "kwargs": kwargs, "line": item}


class _CutOff(Exception):
    """The last line, cut off by a killed process."""


def _log_bad_line(number: int, message: str, raw: bytes) -> None:
    logger.warning("dump line %d skipped: %s", number, message)


def _parse_line(raw: bytes, number: int, dump_path: str) -> dict:
    """One line as an event ready to deliver, or BadLine saying what is wrong with it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadLine(f"not UTF-8 text (byte {exc.start + 1})") from None
    try:
        item = json.loads(text)
    except json.JSONDecodeError as exc:
        if not text.endswith("\n"):  # the last write of a killed process
            raise _CutOff() from None
        raise BadLine(f"not JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise BadLine("JSON nested too deeply to read") from None
    if not isinstance(item, dict):
        raise BadLine(f"a JSON {type(item).__name__}, not an event object")
    event = item.get("event")
    if event not in EVENTS:
        raise BadLine(f"unknown event {event!r}; a dump holds {', '.join(EVENTS)}")
    if (number == 1) != (event in _START_EVENTS):
        raise BadLine(f"{event} on line {number}: the start event is the first line, and only it")
    kwargs, args = item.get("kwargs"), item.get("args", [])
    if not isinstance(kwargs, dict):
        raise BadLine(f"{event} without a kwargs object")
    if not isinstance(args, list):
        raise BadLine(f"{event} with args that are not a list")
    if event == "heartbeat_event" and not isinstance(item.get("captured_out_append", ""), str):
        raise BadLine("heartbeat_event whose captured_out_append is not a string")
    probe = dict(kwargs)
    if event == "heartbeat_event":
        probe.setdefault("captured_out", "")  # reassembled from the appends
    try:
        bound = _SIGNATURES[event].bind(None, *args, **probe)
    except TypeError as exc:
        raise BadLine(f"{event} with bad arguments: {exc}") from None
    for key, value in bound.arguments.items():
        if key in _TYPES and not isinstance(value, _TYPES[key]):
            raise BadLine(f"{event}: {key} is a {type(value).__name__}")
    kwargs = {k: _time(event, k, v) if k in _TIME_KEYS else v for k, v in kwargs.items()}
    args = list(args)
    if event == "log_metrics":
        args[0] = _metrics(args[0])
    elif event in ("artifact_event", "resource_event"):
        index = 1 if event == "artifact_event" else 0
        name = bound.arguments["filename"]
        if index < len(args):
            args[index] = _file_in_dump_dir(dump_path, name, event)
        else:
            kwargs["filename"] = _file_in_dump_dir(dump_path, name, event)
    return {**item, "event": event, "args": args, "kwargs": kwargs}


def _time(event: str, key: str, value: Any) -> Any:
    if value is None and key == "queue_time":
        return None
    parsed = parse_stored_time(value)
    if not isinstance(parsed, datetime.datetime):
        raise BadLine(f"{event}: {key} {value!r} is not an ISO time")
    return parsed


def _metrics(value: Any) -> dict:
    """log_metrics' first argument with its timestamps as datetimes."""
    out = {}
    for name, series in value.items():
        if not (
            isinstance(series, dict)
            and all(isinstance(series.get(k), list) for k in ("steps", "values", "timestamps"))
        ):
            raise BadLine(f"log_metrics: metric {name!r} is not {{steps, values, timestamps}}")
        stamps = [parse_stored_time(t) for t in series["timestamps"]]
        if not all(isinstance(t, datetime.datetime) for t in stamps):
            raise BadLine(f"log_metrics: metric {name!r} has a timestamp that is no ISO time")
        out[name] = {**series, "timestamps": stamps}
    return out


def _file_in_dump_dir(dump_path: str, filename: str, event: str) -> str:
    """The file an artifact or resource line names, read only from inside the dump's
    directory: an artifact from its copy beside the dump (``DUMP.files/``), a resource
    where it is. Anything else (``/etc/passwd``, ``../x``, a symlink out) is refused:
    a dump must not make the replay copy arbitrary files into a store."""
    from sacred.observers._dump_files import artifact_copy_name, dump_files_dir

    if event == "artifact_event":
        candidate = os.path.join(dump_files_dir(dump_path), artifact_copy_name(filename))
    else:
        candidate = os.path.join(os.path.dirname(os.path.abspath(dump_path)), filename)
    home = os.path.realpath(os.path.dirname(os.path.abspath(dump_path)))
    real = os.path.realpath(candidate)
    if os.path.commonpath([home, real]) != home or not os.path.isfile(real):
        what = "its copy beside the dump" if event == "artifact_event" else "the file"
        raise BadLine(
            f"{event}: {filename!r} is not read ({what} is not a file inside the dump's "
            f"directory {home})"
        )
    # a resource is recorded by its path: keep the one the run gave when it is absolute
    return filename if event == "resource_event" and os.path.isabs(filename) else real


def replay_dump(
    dump_path: str | os.PathLike,
    observer: RunObserver,
    *,
    new_id: bool = False,
    on_bad_line: Callable[[int, str, bytes], None] | None = None,
) -> Any:
    """Deliver the run in the dump to ``observer``; returns its id there.

    Runs of heartbeats are delivered as their last one (each carries the whole state).
    Bad lines are skipped and given to ``on_bad_line`` (see :func:`read_dump`).
    """
    run_id = None
    pending_beat: dict | None = None
    for item in read_dump(dump_path, on_bad_line):
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


def _ignore(number: int, message: str, raw: bytes) -> None:
    pass  # reported once, by the pass that delivers the events


def _start_of(dump_path: str) -> dict:
    for item in read_dump(dump_path, _ignore):
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
        # for good, not to the trash: the complete record takes this id (the same run)
        store.delete(run_id, purge=True)


def replay_into(
    dump_path: str, target: str, *, new_id: bool = False, out: Any = None, err: Any = None
) -> Any:
    """What ``sacred replay DUMP URL`` does; returns the run's id in the target.

    Each bad line is reported on ``err`` (one line each) and kept in ``DUMP.rejected``;
    DumpError at the end says how many were skipped, after the rest was replayed."""
    out, err = out or sys.stdout, err or sys.stderr
    start = _start_of(dump_path)
    if not new_id:
        _remove_partial_record(target, start, out)
    observer = observer_for(target)
    bad: list[bytes] = []

    def report(number: int, message: str, raw: bytes) -> None:
        print(f"sacred: error: {dump_path} line {number}: {message}; skipped", file=err)
        bad.append(raw if raw.endswith(b"\n") else raw + b"\n")

    run_id = replay_dump(dump_path, observer, new_id=new_id, on_bad_line=report)
    print(
        f"replayed run {run_id} ({_final_status(dump_path)}) from {dump_path} into {target}",
        file=out,
    )
    if bad:
        rejected = dump_path + ".rejected"
        try:
            with open(rejected, "wb") as f:
                f.writelines(bad)
        except OSError as exc:
            raise DumpError(
                f"{len(bad)} bad line(s) of {dump_path} were skipped and could not be kept "
                f"in {rejected} ({exc.strerror}); they are still in the dump."
            ) from None
        raise DumpError(
            f"{len(bad)} bad line(s) of {dump_path} were skipped (kept in {rejected}); "
            "the rest of the run was replayed."
        )
    return run_id


def _final_status(dump_path: str) -> str:
    status = "RUNNING"  # a run killed during the outage never ended
    for item in read_dump(dump_path, _ignore):
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
