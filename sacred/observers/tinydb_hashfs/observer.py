"""TinyDbObserver and TinyDbReader: run metadata in TinyDB, files in a hashfs.

Layout::

    basedir/
      metadata.json      TinyDB: table "_default" holds one document per run, table
                         "metrics" one document per (run, metric name)
      hashfs/            content-addressed files (md5; depth 3, width 2):
                         59/ab/16/5b3579a1869399b4838be2a125

A run document is like the Mongo one: ``_id`` (uuid hex), ``format``
("TinyDbObserver-<version>"), ``status``, ``command``, ``config``, ``experiment``
(sources as ``[name, md5, file]``), ``host``, ``info``, ``meta``, ``captured_out``,
``resources`` and ``artifacts`` (``[name, md5, file]``), ``result``, ``fail_trace``
and the times. In metadata.json datetimes are stored as ``{TinyDate}:<iso>`` and
files as ``{TinyFile}:"<md5>"``; reading them back gives datetimes and open file
handles. Metrics (not stored by the original observer) live in the "metrics" table
as ``{run_id, name, steps, values, timestamps}`` (timestamps as ``{TinyDate}:``).

metadata.json is replaced atomically at every write (temporary file + rename), so a
run killed at any instant leaves a readable database. TinyDB keeps no lock: two
processes writing one store at the same time can lose each other's updates, so give
concurrent runs their own store (or use the file or SQL observer).

File handles read back from the store open their file on first use, so reading a
store with many runs does not open thousands of files.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import uuid
from typing import Any

from sacred.exceptions import ObserverError
from sacred.observers.base import RunObserver
from sacred.serializer import flatten

__all__ = ["TinyDbObserver", "BufferedReaderWrapper", "open_tinydb"]


class _LazyFile(io.RawIOBase):
    """A read-only raw file that opens ``path`` on first use."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self._path = path
        self._file: io.FileIO | None = None

    @property
    def name(self) -> str:
        return self._path

    def _opened(self) -> io.FileIO:
        if self._file is None:
            if self.closed:
                raise ValueError("I/O operation on closed file.")
            self._file = io.FileIO(self._path, "r")
        return self._file

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._opened().readinto(buffer)

    def seek(self, pos: int, whence: int = 0) -> int:
        return self._opened().seek(pos, whence)

    def tell(self) -> int:
        return self._file.tell() if self._file is not None else 0

    def fileno(self) -> int:
        return self._opened().fileno()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        super().close()


class BufferedReaderWrapper(io.BufferedReader):
    """A file handle from the hashfs that remembers its hash (for serialization).

    ``f_obj`` is a raw file object or a path (opened lazily, on the first read)."""

    def __init__(self, f_obj: Any, hash_id: str = "") -> None:
        if isinstance(f_obj, (str, os.PathLike)):
            f_obj = _LazyFile(os.fspath(f_obj))
        super().__init__(f_obj)
        self.hash = hash_id

    def __repr__(self) -> str:
        return f"<BufferedReaderWrapper name='{self.name}'>"

    def __deepcopy__(self, memo: dict) -> BufferedReaderWrapper:
        return self  # stands for the stored file, which never changes (content-addressed)


def _serializers(fs: Any) -> list:
    from tinydb_serialization import Serializer
    from tinydb_serialization.serializers import DateTimeSerializer

    class FileSerializer(Serializer):
        OBJ_CLASS = BufferedReaderWrapper

        def encode(self, obj: BufferedReaderWrapper) -> str:
            return json.dumps(obj.hash)

        def decode(self, s: str) -> Any:
            hash_id = json.loads(s)
            address = fs.get(hash_id)
            if address is None:
                return None
            return BufferedReaderWrapper(address.abspath, hash_id)

    return [(DateTimeSerializer(), "TinyDate"), (FileSerializer(), "TinyFile")]


def _atomic_json_storage() -> type:
    from tinydb.storages import Storage

    class AtomicJSONStorage(Storage):
        """TinyDB's JSONStorage writes the file in place, so a process killed while
        writing leaves broken JSON and loses every run in the store; this one writes
        a temporary file and renames it over the old one."""

        def __init__(self, path: str, **kwargs: Any) -> None:
            super().__init__()
            self.path = path
            self.kwargs = kwargs
            if not os.path.exists(path):
                with open(path, "a", encoding="utf-8"):
                    pass  # an empty file marks the store (TinyDB starts from nothing)

        def read(self) -> dict | None:
            with open(self.path, encoding="utf-8") as f:
                text = f.read()
            return json.loads(text) if text.strip() else None

        def write(self, data: dict) -> None:
            directory = os.path.dirname(self.path) or "."
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-metadata-")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    f.write(json.dumps(data, **self.kwargs))
                os.replace(tmp, self.path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise

        def close(self) -> None:
            pass

    return AtomicJSONStorage


def open_tinydb(basedir: str) -> tuple[Any, Any]:
    """(TinyDB, HashFS) of a TinyDB store directory, created if needed."""
    from hashfs import HashFS
    from tinydb import TinyDB
    from tinydb_serialization import SerializationMiddleware

    os.makedirs(basedir, exist_ok=True)
    fs = HashFS(os.path.join(basedir, "hashfs"), depth=3, width=2, algorithm="md5")
    storage = SerializationMiddleware(_atomic_json_storage())
    for serializer, name in _serializers(fs):
        storage.register_serializer(serializer, name)
    db = TinyDB(os.path.join(basedir, "metadata.json"), storage=storage)
    return db, fs


def _plain(value: Any) -> Any:
    return flatten(value, datetimes="keep")


def _extender(steps: list, values: list, stamps: list) -> Any:
    def extend(doc: dict) -> None:
        doc["steps"] = doc["steps"] + steps
        doc["values"] = doc["values"] + values
        doc["timestamps"] = doc["timestamps"] + stamps

    return extend


def _metric_of(run_id: str, name: str) -> Any:
    from tinydb import Query

    q = Query()
    return (q.run_id == run_id) & (q.name == name)


class TinyDbObserver(RunObserver):
    """Stores runs in a TinyDB database and their files in a hashfs (see module doc)."""

    VERSION = "TinyDbObserver-0.9.0"

    def __init__(
        self, basedir: str | os.PathLike = "runs_db", overwrite: Any = None, priority: int = 20
    ) -> None:
        self.basedir = os.path.abspath(os.fspath(basedir))
        db, fs = open_tinydb(self.basedir)
        self._init(db, fs, overwrite, priority)

    def _init(self, db: Any, fs: Any, overwrite: Any, priority: int) -> None:
        self.db = db
        self.runs = db.table("_default")
        self.metrics = db.table("metrics")
        self.fs = fs
        self.overwrite = overwrite
        self.priority = priority
        self.run_entry: dict = {}
        self.db_run_id: int | None = None

    @classmethod
    def create_from(
        cls, db: Any, fs: Any, overwrite: Any = None, priority: int = 20
    ) -> TinyDbObserver:
        self = cls.__new__(cls)
        self.basedir = None
        self._init(db, fs, overwrite, priority)
        return self

    @classmethod
    def create(cls, path: str = "./runs_db", overwrite: Any = None) -> TinyDbObserver:
        return cls(path, overwrite=overwrite)

    @classmethod
    def from_cli(cls, value: str) -> TinyDbObserver:
        return cls(value)

    def _store_file(self, filename: str) -> tuple[str, BufferedReaderWrapper]:
        with open(filename, "rb") as f:
            address = self.fs.put(f)
        return address.id, BufferedReaderWrapper(address.abspath, address.id)

    def save(self) -> None:
        from tinydb import Query

        if self.db_run_id is None:
            self.db_run_id = self.runs.insert(self.run_entry)
        else:  # only the observer's own fields: tags/note set by the store survive
            self.runs.update(self.run_entry, Query()._id == self.run_entry["_id"])

    def _entry(self, ex_info, command, host_info, config, meta_info, _id) -> dict:
        base_dir = ex_info.get("base_dir") or ""
        sources = []
        for name, md5 in ex_info.get("sources", []):
            path = name if os.path.isabs(name) else os.path.join(base_dir, name)
            if os.path.isfile(path):
                stored_md5, handle = self._store_file(path)
                sources.append([name, md5, handle])
        experiment = _plain(dict(ex_info))
        experiment["sources"] = sources
        return {
            "_id": str(_id) if _id is not None else (self.overwrite or uuid.uuid4().hex),
            "format": self.VERSION,
            "command": command,
            "experiment": experiment,
            "host": _plain(host_info or {}),
            "config": _plain(config),
            "meta": _plain(meta_info or {}),
            "info": {},
            "captured_out": "",
            "resources": [],
            "artifacts": [],
        }

    def _existing(self, _id: str, starting: bool) -> int | None:
        """doc_id of a stored run with this id that may be taken over (a queued run
        being started); any other stored run is never overwritten."""
        from tinydb import Query

        existing = self.runs.get(Query()._id == _id)
        if existing is None:
            return None
        status = existing.get("status")
        if starting and status == "QUEUED":
            return existing.doc_id
        raise ObserverError(
            f"TinyDbObserver: the store {self.basedir or self.db} already holds a run with "
            f"the id {_id!r} ({status}); storing this run under that id would overwrite "
            "it. Choose another --id, or let the TinyDbObserver choose the id."
        )

    def queued_event(self, ex_info, command, host_info, queue_time, config, meta_info, _id):
        self.db_run_id = None
        self.run_entry = self._entry(ex_info, command, host_info, config, meta_info, _id)
        self.run_entry.update({"status": "QUEUED", "queue_time": queue_time})
        self._existing(self.run_entry["_id"], starting=False)
        self.save()
        return _id if _id is not None else self.run_entry["_id"]

    def started_event(self, ex_info, command, host_info, start_time, config, meta_info, _id):
        self.db_run_id = None
        self.run_entry = self._entry(ex_info, command, host_info, config, meta_info, _id)
        self.run_entry.update(
            {
                "status": "RUNNING",
                "start_time": start_time,
                "heartbeat": None,
                "stop_time": None,
                "result": None,
            }
        )
        self.db_run_id = self._existing(self.run_entry["_id"], starting=True)
        self.save()
        return _id if _id is not None else self.run_entry["_id"]

    def heartbeat_event(self, info, captured_out, beat_time, result):
        self.run_entry.update(
            {
                "info": _plain(info),
                "captured_out": captured_out,
                "heartbeat": beat_time,
                "result": _plain(result),
            }
        )
        self.save()

    def log_metrics(self, metrics_by_name, info):
        """One document per (run, metric name); a beat's batch is stored with at most
        two writes of the database (updates, then new metrics)."""
        from tinydb import Query

        if not metrics_by_name:
            return
        run_id = self.run_entry["_id"]
        known = {doc["name"] for doc in self.metrics.search(Query().run_id == run_id)}
        updates, inserts = [], []
        for name, series in metrics_by_name.items():
            steps = list(series["steps"])
            values = _plain(list(series["values"]))
            stamps = list(series["timestamps"])
            if name in known:
                updates.append((_extender(steps, values, stamps), _metric_of(run_id, name)))
            else:
                inserts.append(
                    {
                        "run_id": run_id,
                        "name": name,
                        "steps": steps,
                        "values": values,
                        "timestamps": stamps,
                    }
                )
        if updates:
            self.metrics.update_multiple(updates)
        if inserts:
            self.metrics.insert_multiple(inserts)

    def completed_event(self, stop_time, result):
        self.run_entry.update(
            {"status": "COMPLETED", "stop_time": stop_time, "result": _plain(result)}
        )
        self.save()

    def interrupted_event(self, interrupt_time, status):
        self.run_entry.update({"status": status, "stop_time": interrupt_time})
        self.save()

    def failed_event(self, fail_time, fail_trace):
        self.run_entry.update(
            {"status": "FAILED", "stop_time": fail_time, "fail_trace": list(fail_trace)}
        )
        self.save()

    def resource_event(self, filename):
        md5, handle = self._store_file(filename)
        if not any(r[0] == filename and r[1] == md5 for r in self.run_entry["resources"]):
            self.run_entry["resources"].append([filename, md5, handle])
            self.save()

    def artifact_event(self, name, filename, metadata=None, content_type=None):
        md5, handle = self._store_file(filename)
        self.run_entry["artifacts"].append([name, md5, handle])
        self.save()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TinyDbObserver):
            return False
        if self.basedir is not None or other.basedir is not None:
            return self.basedir == other.basedir
        return other.db is self.db

    __hash__ = RunObserver.__hash__


def __getattr__(name: str) -> Any:
    # TinyDbReader lives in reader.py (one reader of the layout, shared with
    # sacred.store); importing it from here still works.
    if name == "TinyDbReader":
        from sacred.observers.tinydb_hashfs.reader import TinyDbReader

        return TinyDbReader
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
