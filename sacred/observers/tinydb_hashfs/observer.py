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
run killed at any instant leaves a readable database. Every read-modify-write of
metadata.json (a run's record, its metrics, tags, notes, deletion) happens under an
exclusive lock (``filelock``) on ``.metadata.json.lock`` in the store directory and starts
from the file's current contents, so any number of processes on one machine can
write runs to one store without losing each other's updates. The lock dies with
its holder: a killed run never leaves the store locked.

A run taken over under a worker's claim (``SACRED_CLAIM_TOKEN``; claim.py claims,
re-queues and releases under the same lock) is fenced (sacred.observers.claiming):
each write checks, in the read-modify-write that makes it, that the record still
holds the claim, and writes nothing once it does not.

File handles read back from the store open their file on first use, so reading a
store with many runs does not open thousands of files.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import os
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from typing import Any

from sacred.exceptions import ObserverError, QueueNotSupportedError
from sacred.observers._record import RecordObserver, may_take_over
from sacred.observers.claiming import Fence, claim_token, claimed_by_this_process, holds_claim
from sacred.serializer import flatten

__all__ = [
    "TinyDbObserver",
    "QueueingTinyDbObserver",
    "BufferedReaderWrapper",
    "open_tinydb",
    "write_lock",
    "fresh_table",
    "RUNS_TABLE",
    "METRICS_TABLE",
    "LOCK_FILE",
]

RUNS_TABLE = "runs"  # the original's table name
METRICS_TABLE = "metrics"  # an addition: the original stores no metrics in TinyDB
_VERSION = "0.9.0"
LOCK_FILE = ".metadata.json.lock"

_held = threading.local()


@contextlib.contextmanager
def write_lock(basedir: str | os.PathLike | None) -> Iterator[None]:
    """Hold the store's write lock (``basedir/.metadata.json.lock``) for the block.

    Not metadata.json itself: every write renames a new file over it, so a lock on
    the old file would not exclude the next writer. Re-entrant within a thread (a
    record is looked up and saved under one lock); other threads of this process
    wait like other processes, because each holder opens its own descriptor (the
    ``filelock`` library: ``flock`` on POSIX, ``msvcrt`` locking on Windows).
    ``None`` (a database that is not a file, e.g. given to ``create_from``): nothing
    to lock.
    """
    if basedir is None:
        yield
        return
    from filelock import FileLock

    path = os.path.join(os.path.abspath(os.fspath(basedir)), LOCK_FILE)
    depth: dict[str, int] = getattr(_held, "depth", None) or {}
    _held.depth = depth
    if depth.get(path):
        depth[path] += 1
        try:
            yield
        finally:
            depth[path] -= 1
        return
    # filelock: flock on POSIX, msvcrt locking on Windows. A new FileLock object per
    # holder has its own descriptor, so other threads of this process wait like
    # other processes do.
    with _file_lock(FileLock, path):
        depth[path] = 1
        try:
            yield
        finally:
            depth[path] = 0


def _file_lock(lock_class: Any, path: str) -> Any:
    """A FileLock that leaves the lock file in place (deleting it on release would let
    a waiter lock a file that a newcomer no longer sees); older filelock releases
    always leave it. A soft lock (filelock's fallback where the platform has no file
    locks) is released by deleting its file, so it cannot keep it (ValueError)."""
    try:
        return lock_class(path, thread_local=False, preserve_lock_file=True)
    except (TypeError, ValueError):
        return lock_class(path, thread_local=False)


def fresh_table(db: Any, name: str) -> Any:
    """The table ``name`` of ``db`` with nothing remembered from earlier reads.

    Not ``db.table(name)``: TinyDB keeps that object for the life of ``db``, with a
    query cache and the next document id, both of which go stale as soon as another
    process writes the file (stale results, two runs under one document id).
    """
    from tinydb.table import Table

    return Table(db.storage, name, cache_size=0)


def store_dir_of(db: Any) -> str | None:
    """The directory of a TinyDB database kept in a file (None: not in a file)."""
    path = getattr(getattr(db, "storage", None), "path", None)
    return os.path.dirname(os.path.abspath(path)) if isinstance(path, str) else None


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

    class _NoArrays:
        pass

    class ArraySerializer(Serializer):
        """numpy arrays as the original stores them: ``{TinyArray}:[0, 1, 2]``."""

        @property
        def OBJ_CLASS(self) -> type:  # noqa: N802 - the name tinydb_serialization reads
            # Without numpy imported no array can be in the data: no import needed.
            numpy = sys.modules.get("numpy")
            return numpy.ndarray if numpy is not None else _NoArrays

        def encode(self, obj: Any) -> str:
            return json.dumps(obj.tolist())

        def decode(self, s: str) -> Any:
            try:
                import numpy
            except ImportError:  # readable without numpy: the nested lists
                return json.loads(s)
            return numpy.array(json.loads(s))

    return [
        (DateTimeSerializer(), "TinyDate"),
        (FileSerializer(), "TinyFile"),
        (ArraySerializer(), "TinyArray"),
    ]


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

    from sacred.observers.tinydb_hashfs.serialization import serialization_middleware

    os.makedirs(basedir, exist_ok=True)
    fs = HashFS(os.path.join(basedir, "hashfs"), depth=3, width=2, algorithm="md5")
    storage = serialization_middleware(_atomic_json_storage())
    for serializer, name in _serializers(fs):
        storage.register_serializer(serializer, name)
    db = TinyDB(os.path.join(basedir, "metadata.json"), storage=storage)
    return db, fs


def _plain(value: Any) -> Any:
    return flatten(value, datetimes="keep")


def _tiny_value(value: Any) -> Any:
    """What TinyDB stores, as the original: numpy arrays stay arrays (written as
    ``{TinyArray}:[...]`` by the serializer), numpy scalars become plain numbers,
    datetimes stay datetimes (``{TinyDate}:``); the rest flattened."""
    kind = type(value)
    if kind is dict:
        return {str(k): _tiny_value(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_tiny_value(v) for v in value]
    if kind.__module__ == "numpy" and kind.__name__ == "ndarray":
        return value
    return flatten(value, datetimes="keep")


def _typed_like(meta: Any, stored: Any) -> Any:
    """``meta`` with the stored datetimes it holds as text put back as datetimes: a
    worker hands the stored meta to its run as JSON (``queue_time`` becomes text),
    and TinyDB keeps times as ``{TinyDate}:`` values, which readers expect."""
    if not isinstance(meta, dict) or not isinstance(stored, dict):
        return meta
    out = dict(meta)
    for key, value in stored.items():
        given = out.get(key)
        if isinstance(value, datetime.datetime) and given in (str(value), value.isoformat()):
            out[key] = value
    return out


def _holds(runs: Any, run_id: str, token: str) -> bool:
    """True when the run ``run_id`` in a runs table as stored (``{doc id: document}``)
    holds the claim ``token``."""
    for doc in (runs or {}).values():
        if doc.get("_id") == run_id:
            return holds_claim(doc.get("meta"), token)
    return False


def _add_metrics(table: dict, run_id: str, metrics_by_name: dict) -> None:
    """Append a batch to the metric documents of a run in a metrics table as stored
    (``{doc id: document}``), adding a document for a new metric under the next id
    (TinyDB's own rule: the highest id plus one)."""
    mine = {doc.get("name"): doc for doc in table.values() if doc.get("run_id") == run_id}
    next_id = max((int(k) for k in table), default=0) + 1
    for name, series in metrics_by_name.items():
        steps = list(series["steps"])
        values = _plain(list(series["values"]))
        stamps = list(series["timestamps"])
        doc = mine.get(name)
        if doc is not None:
            doc["steps"] = list(doc.get("steps") or []) + steps
            doc["values"] = list(doc.get("values") or []) + values
            doc["timestamps"] = list(doc.get("timestamps") or []) + stamps
            continue
        table[str(next_id)] = {
            "run_id": run_id,
            "name": name,
            "steps": steps,
            "values": values,
            "timestamps": stamps,
        }
        next_id += 1


class TinyDbObserver(RecordObserver):
    """Stores runs in a TinyDB database and their files in a hashfs (see module doc).

    Args:
        path: the store's directory (created if needed; default ``./runs_db``).
        overwrite: the id of a stored run whose record this run replaces.
        priority: observers with higher priority are notified first.
    """

    VERSION = f"TinyDbObserver-{_VERSION}"
    RECORD_FORMAT = VERSION

    def __init__(
        self, path: str | os.PathLike = "./runs_db", overwrite: Any = None, priority: int = 20
    ) -> None:
        self.root: str | None = os.fspath(path)
        self.basedir: str | None = os.path.abspath(self.root)
        if os.path.exists(self.basedir) and not os.path.isdir(self.basedir):
            raise ObserverError(
                f"TinyDbObserver: {self.root!r} exists and is not a directory; give the "
                "directory that holds (or will hold) metadata.json and hashfs/."
            )
        self._init(None, None, overwrite, priority)
        try:  # a local database, opened (created) right away as the original does
            self._opened()
        except OSError as exc:
            raise ObserverError(
                f"TinyDbObserver cannot store runs in {self.root!r}: {exc.strerror or exc}. "
                "Give a directory you can write to."
            ) from None

    def _init(self, db: Any, fs: Any, overwrite: Any, priority: int) -> None:
        self._db = db
        self._fs = fs
        self.overwrite = overwrite
        self.priority = priority
        self.db_run_id: int | None = None
        self._begin()

    def _opened(self) -> None:
        if self._db is None:
            assert self.basedir is not None  # only create_from() leaves it out, with a db
            self._db, self._fs = open_tinydb(self.basedir)

    @property
    def db(self) -> Any:
        self._opened()
        return self._db

    @property
    def fs(self) -> Any:
        self._opened()
        return self._fs

    @property
    def runs(self) -> Any:
        return fresh_table(self.db, RUNS_TABLE)

    @property
    def metrics(self) -> Any:
        return fresh_table(self.db, METRICS_TABLE)

    def _locked(self) -> Any:
        """The store's write lock (see :func:`write_lock`)."""
        return write_lock(self.basedir if self.basedir is not None else store_dir_of(self.db))

    @classmethod
    def create_from(
        cls, db: Any, fs: Any, overwrite: Any = None, priority: int = 20
    ) -> TinyDbObserver:
        self = cls.__new__(cls)
        self.root = self.basedir = None
        self._init(db, fs, overwrite, priority)
        return self

    @classmethod
    def create(cls, path: str | os.PathLike = "./runs_db", overwrite: Any = None) -> TinyDbObserver:
        return cls(path=path, overwrite=overwrite)

    @classmethod
    def from_cli(cls, value: str) -> TinyDbObserver:
        return cls(value)  # an unusable path is a command-line error, not a failed run

    def _begin(self) -> None:
        super()._begin()
        self.db_run_id = None
        self._fence: Fence | None = None  # the worker's claim the writes are fenced by

    def _encode_info(self, info: dict) -> Any:
        return _tiny_value(info)

    def _store_file(self, filename: str) -> tuple[str, BufferedReaderWrapper]:
        # hashfs copies into place only when the file is missing, through a temporary
        # file that may be on another file system: two writers of one file must not
        # copy at once.
        with open(filename, "rb") as f, self._locked():
            address = self.fs.put(f)
        return address.id, BufferedReaderWrapper(address.abspath, address.id)

    def save(self) -> None:
        from tinydb import Query

        fence = self._fence
        if fence is not None and fence.is_lost:
            return
        with self._locked():
            runs = self.runs
            if self.db_run_id is None:
                self.db_run_id = runs.insert(self.run_entry)
                return
            # Only the observer's own fields: tags/note set by the store survive. Under
            # a worker's claim, only while the record still holds it (the fence): one
            # conditional update, checked and written in the same read-modify-write.
            q = Query()
            which = q._id == self.run_entry["_id"]
            if fence is not None:
                which = which & (q.meta.claim.token == fence.token)
            if runs.update(self.run_entry, which) or fence is None:
                return
        fence.lost(self._where())

    def _where(self) -> str:
        return f"the TinyDB store {self.root}" if self.root else "the TinyDB database"

    def _save(self, fields: tuple[str, ...] | None = None) -> None:
        self.save()

    def _save_sources(self, ex_info: dict) -> list:
        sources = []
        for name, md5, path in self._source_files(ex_info):
            if os.path.isfile(path):
                _stored, handle = self._store_file(path)
                sources.append([name, md5, handle])
        return sources

    def _open(self, entry: dict, _id: Any, queued: bool) -> Any:
        from tinydb import Query

        self.db_run_id = None
        run_id = str(_id) if _id is not None else (self.overwrite or uuid.uuid4().hex)
        # One lock from the look-up to the write: two processes starting the same
        # queued run cannot both take it over.
        with self._locked():
            existing = self.runs.get(Query()._id == run_id)
            if existing is not None:
                where = f"the store {self.root or self.db}"
                # A run a worker (or --resume, or a Labwatch trial) claimed for this
                # process is taken over too, and every later write is fenced on it.
                claimed = not queued and claimed_by_this_process(existing.get("meta"))
                if run_id == self.overwrite or may_take_over(
                    self,
                    where,
                    run_id,
                    existing.get("status", "unknown status"),
                    queued,
                    claimed=claimed,
                ):
                    self.db_run_id = existing.doc_id
                if claimed:
                    token = claim_token()
                    assert token is not None  # claimed_by_this_process() matched it
                    self._fence = Fence(run_id, token)
                    # a resumed run keeps its files (metrics live in their own table)
                    for field in ("artifacts", "resources"):
                        entry[field] = list(existing.get(field) or [])
                    entry["meta"] = _typed_like(entry.get("meta"), existing.get("meta"))
            # The original's layout: _id after heartbeat in a started run.
            entry["_id"] = run_id
            self.save()
        return _id if _id is not None else run_id

    def log_metrics(self, metrics_by_name: dict, info: Any) -> None:
        """One document per (run, metric name); a beat's batch is stored with one
        read and one write of the database, under its lock. Under a worker's claim
        the same read checks the claim (the fence): a run whose claim was taken away
        writes nothing."""
        if not metrics_by_name:
            return
        fence = self._fence
        if fence is not None and fence.is_lost:
            return
        run_id = self.run_entry["_id"]
        with self._locked():
            # TinyDB's table API reads the whole file at every call (a search, then
            # an update, then an insert): the storage is read and written once here.
            storage = self.db.storage
            data = storage.read() or {}
            if fence is None or _holds(data.get(RUNS_TABLE), run_id, fence.token):
                _add_metrics(data.setdefault(METRICS_TABLE, {}), run_id, metrics_by_name)
                storage.write(data)
                return
        fence.lost(self._where())

    def _store_resource(self, filename: str) -> list:
        md5, handle = self._store_file(filename)
        for entry in self.run_entry["resources"]:
            if entry[0] == filename and entry[1] == md5:
                return entry
        return [filename, md5, handle]

    def _store_artifact(
        self, name: str, filename: str, metadata: dict | None, content_type: str | None
    ) -> list:
        md5, handle = self._store_file(filename)
        return [name, filename, md5, handle]  # as the original: [name, source, md5, file]

    def _location(self) -> Any:
        return self.basedir if self.basedir is not None else id(self._db)

    def _store_path(self) -> Any:
        """What makes two observers the same store: the metadata.json they write."""
        if self.basedir is not None:
            return os.path.join(self.basedir, "metadata.json")
        storage = getattr(self._db, "storage", None)
        path = getattr(storage, "path", None)  # ours; TinyDB's JSONStorage has a handle
        if not isinstance(path, str):
            path = getattr(getattr(storage, "_handle", None), "name", None)
        return os.path.abspath(path) if isinstance(path, str) else id(self._db)

    def __eq__(self, other: object) -> bool:
        # As the original: observers of one store are equal, so
        # create_from(db, fs) equals TinyDbObserver(path) on the same files.
        if isinstance(other, TinyDbObserver):
            return self._store_path() == other._store_path()
        return False

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(self._store_path())

    def queued_event(self, ex_info, command, host_info, queue_time, config, meta_info, _id):
        """Not supported, as in the original: a TinyDB store is one user's local
        record of runs, which no worker takes queued runs from."""
        raise QueueNotSupportedError(
            "queued_event method is not implemented for local TinyDbObserver. Queue the "
            "run in a store workers take runs from (-F DIR, -s sqlite:///runs.db, -m DB)."
        )


class QueueingTinyDbObserver(TinyDbObserver):
    """A TinyDbObserver that does store queued runs: how labwatch writes its trial
    claims (QUEUED records) into a TinyDB store. The public TinyDbObserver raises
    for a queued run, as the original does."""

    queued_event = RecordObserver.queued_event
