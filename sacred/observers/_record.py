"""The shared base of the observers that write one record per run (file storage,
S3/GCS buckets, MongoDB, TinyDB).

:class:`RecordObserver` builds the run document from the events, in the field order
the original release writes it::

    queued:   experiment, command, host, config, meta (with queue_time), status
              (the original's fields only: readers take queue_time from meta)
    started:  experiment, format, command, host, start_time, config, meta, status,
              resources, artifacts, captured_out, info, heartbeat
    + beats:  result (and captured_out, info, heartbeat updated)
    + end:    stop_time (and status; result when completed; fail_trace when failed)

A backend supplies only its storage layout, through a few hooks: where sources go
(:meth:`_save_sources`), how a record is created under an id (:meth:`_open`), how
changed fields are saved (:meth:`_save`), how resources and artifacts are stored and
what entry they get in the record, and how values are encoded (:meth:`_encode`).

Ids: the first observer chooses the id; an observer given an id that already holds
a record may take that record over only when it is a QUEUED run being started (a
worker starting a queued run); any other existing record is refused with
:func:`existing_run_error`, one wording for every backend.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterator
from typing import Any

from sacred.exceptions import ObserverError
from sacred.observers.base import RunObserver
from sacred.serializer import flatten

__all__ = [
    "RecordObserver",
    "existing_run_error",
    "may_take_over",
    "encode_numpy_as_original",
]

QUEUED = "QUEUED"


def existing_run_error(observer: Any, where: str, _id: Any, status: str) -> ObserverError:
    """The one error for "this id is taken" (every backend raises it)."""
    return ObserverError(
        f"{type(observer).__name__}: {where} already holds a run with the id {_id!r} "
        f"(status {status}); only a QUEUED run can be taken over by starting it under its "
        "id, any other run is never overwritten. Choose another --id, or leave the id "
        "out and let the observer choose one."
    )


def may_take_over(
    observer: Any, where: str, _id: Any, status: str | None, queued: bool, claimed: bool = False
) -> bool:
    """Whether an existing record (``status``; None: there is none) may be reused for
    the run being opened: True for a queued run being started, and for a run a worker
    claimed for this very process (``claimed``, see sacred.worker.takeover); False
    when there is no record; raises :func:`existing_run_error` otherwise."""
    if status is None:
        return False
    if not queued and (status == QUEUED or claimed):
        return True
    raise existing_run_error(observer, where, _id, status)


def encode_numpy_as_original(value: Any, datetimes: str = "keep") -> Any:
    """JSON-able data in which numpy values look as the original stores them
    (jsonpickle's form): arrays ``{"py/object": "numpy.ndarray", "dtype": "int64",
    "values": [...]}``, scalars ``{"py/object": "numpy.float64", "dtype": "float64",
    "value": 1.5}``. Everything else as :func:`sacred.serializer.flatten` makes it."""
    kind = type(value)
    if kind is dict:
        return {_key(k): encode_numpy_as_original(v, datetimes) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [encode_numpy_as_original(v, datetimes) for v in value]
    if kind.__module__ == "numpy":
        dtype = getattr(value, "dtype", None)
        if kind.__name__ == "ndarray" and dtype is not None and dtype.kind in "biuf":
            return {"py/object": "numpy.ndarray", "dtype": str(dtype), "values": value.tolist()}
        if dtype is not None and hasattr(value, "item") and dtype.kind in "biuf":
            return {
                "py/object": f"numpy.{kind.__name__}",
                "dtype": str(dtype),
                "value": value.item(),
            }
    if isinstance(value, dict):  # read-only and other dict types
        return {_key(k): encode_numpy_as_original(v, datetimes) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode_numpy_as_original(v, datetimes) for v in value]
    return flatten(value, datetimes=datetimes)


def _key(key: Any) -> str:
    return key if type(key) is str else str(flatten(key))


class RecordObserver(RunObserver):
    """Builds the run record from the events; subclasses store it (see module doc).

    Attributes while a run is observed: ``run_entry`` (the record), ``run_id``,
    ``config``, ``info`` and ``cout`` (the values as given, before encoding).
    """

    RECORD_FORMAT: str | None = None
    """The record's ``format`` field (e.g. "MongoObserver-0.7.0"); None: no such field."""

    def _begin(self) -> None:
        self.run_entry: dict = {}
        self.run_id: Any = None
        self.config: dict = {}
        self.info: dict = {}
        self.cout = ""

    # -- hooks for the backends -----------------------------------------------------------

    def _encode(self, value: Any) -> Any:
        """A value (config, info, result, host, meta) as this backend stores it."""
        return flatten(value, datetimes="keep")

    def _encode_info(self, info: dict) -> Any:
        return encode_numpy_as_original(info)

    def _save_sources(self, ex_info: dict) -> list:
        """Store the experiment's sources; the record's ``experiment.sources`` list."""
        raise NotImplementedError

    def _open(self, entry: dict, _id: Any, queued: bool) -> Any:
        """Create the record (``self.run_entry`` is ``entry``) under ``_id``, or under a
        new id when ``_id`` is None; return the id."""
        raise NotImplementedError

    def _save(self, fields: tuple[str, ...] | None = None) -> None:
        """Persist these changed fields of ``self.run_entry`` (None: all of them)."""
        raise NotImplementedError

    def _save_heartbeat(self) -> None:
        self._save(("captured_out", "info", "heartbeat", "result"))

    def _save_final(self) -> None:
        self._save()

    def _store_resource(self, filename: str) -> Any:
        """Store a resource; its entry in the record's ``resources``."""
        raise NotImplementedError

    def _store_artifact(
        self, name: str, filename: str, metadata: dict | None, content_type: str | None
    ) -> Any:
        """Store an artifact; its entry in the record's ``artifacts``."""
        raise NotImplementedError

    # -- shared helpers -------------------------------------------------------------------

    @staticmethod
    def _source_files(ex_info: dict) -> Iterator[tuple[str, str, str]]:
        """(name as recorded, md5, absolute path) of each source of the experiment."""
        base_dir = ex_info.get("base_dir") or ""
        for name, md5 in ex_info.get("sources", []):
            path = name if os.path.isabs(name) else os.path.join(base_dir, name)
            yield name, md5, path

    def _experiment(self, ex_info: dict) -> dict:
        experiment = self._encode({k: v for k, v in ex_info.items() if k != "sources"})
        experiment["sources"] = self._save_sources(ex_info)
        # The original's field order (the rest, like doc, after it).
        order = ("name", "base_dir", "sources", "dependencies", "repositories", "mainfile")
        ordered = {k: experiment[k] for k in order if k in experiment}
        ordered.update(experiment)
        return ordered

    # -- events ---------------------------------------------------------------------------

    def queued_event(
        self,
        ex_info: dict,
        command: str,
        host_info: dict,
        queue_time: datetime.datetime,
        config: dict,
        meta_info: dict,
        _id: Any,
    ) -> Any:
        self._begin()
        meta = self._encode(meta_info or {})
        meta.setdefault("queue_time", self._encode(queue_time))
        self.config = config
        self.run_entry = {
            "experiment": self._experiment(ex_info),
            "command": command,
            "host": self._encode(host_info or {}),
            "config": self._encode(config),
            "meta": meta,
            "status": QUEUED,
        }
        self.run_id = self._open(self.run_entry, _id, queued=True)
        return self.run_id

    def started_event(
        self,
        ex_info: dict,
        command: str,
        host_info: dict,
        start_time: datetime.datetime,
        config: dict,
        meta_info: dict,
        _id: Any,
    ) -> Any:
        self._begin()
        self.config = config
        entry: dict = {"experiment": self._experiment(ex_info)}
        if self.RECORD_FORMAT is not None:
            entry["format"] = self.RECORD_FORMAT
        entry.update(
            {
                "command": command,
                "host": self._encode(host_info or {}),
                "start_time": start_time,
                "config": self._encode(config),
                "meta": self._encode(meta_info or {}),
                "status": "RUNNING",
                "resources": [],
                "artifacts": [],
                "captured_out": "",
                "info": {},
                "heartbeat": None,
            }
        )
        self.run_entry = entry
        self.run_id = self._open(entry, _id, queued=False)
        return self.run_id

    def heartbeat_event(
        self,
        info: dict,
        captured_out: str,
        beat_time: datetime.datetime,
        result: Any,
        meta_info: dict | None = None,
    ) -> None:
        self.info = info
        self.cout = captured_out
        entry = self.run_entry
        if meta_info is not None:  # the run's meta changed after the start (use_run)
            meta = self._encode(meta_info)
            if meta != entry.get("meta"):
                entry["meta"] = meta
                self._save(("meta",))
        entry["captured_out"] = captured_out
        entry["info"] = self._encode_info(info)
        entry["heartbeat"] = beat_time
        entry["result"] = self._encode(result)
        self._save_heartbeat()

    def _end(self, status: str, stop_time: datetime.datetime, **fields: Any) -> None:
        entry = self.run_entry
        entry["status"] = status
        entry.setdefault("result", None)
        if "result" in fields:
            entry["result"] = fields.pop("result")
        entry["stop_time"] = stop_time
        entry.update(fields)
        self._save_final()

    def completed_event(self, stop_time: datetime.datetime, result: Any) -> None:
        self._end("COMPLETED", stop_time, result=self._encode(result))

    def interrupted_event(self, interrupt_time: datetime.datetime, status: str) -> None:
        self._end(status, interrupt_time)

    def failed_event(self, fail_time: datetime.datetime, fail_trace: Any) -> None:
        # Stored as given (the run passes a list of lines; a caller's string stays a
        # string), as the original does: readers accept both.
        self._end("FAILED", fail_time, fail_trace=self._encode(fail_trace))

    def resource_event(self, filename: str) -> None:
        entry = self._store_resource(filename)
        resources = self.run_entry.setdefault("resources", [])
        if entry not in resources:
            resources.append(entry)
            self._save(("resources",))

    def artifact_event(
        self,
        name: str,
        filename: str,
        metadata: dict | None = None,
        content_type: str | None = None,
    ) -> None:
        entry = self._store_artifact(name, filename, metadata, content_type)
        artifacts = self.run_entry.setdefault("artifacts", [])
        if entry not in artifacts:
            artifacts.append(entry)
        self._save(("artifacts",))

    # Observers compare equal when they write to the same place (``_location``), so
    # adding one twice is noticed; the hash agrees with that equality.
    def _location(self) -> Any:
        return id(self)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._location() == other._location()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._location()))
