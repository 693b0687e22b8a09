"""MongoObserver: the documented ``runs`` document, metrics and GridFS files.

Layout in the database (``db_name``, default 'sacred')::

    runs           one document per run (see below), integer _id 1, 2, 3, ...
    metrics        {_id, name, run_id, steps: [...], values: [...], timestamps: [...]}
    fs.files/chunks  GridFS: sources (deduplicated by md5), resources, artifacts

A run document, in the original's field order: ``_id, experiment {name, base_dir,
sources [[name, file_id]], dependencies, repositories, mainfile, ...}, format
("MongoObserver-0.7.0"), command, host, start_time, config, meta, status, resources
[[filename, md5]], artifacts [{name, file_id}], captured_out, info, heartbeat,
result, stop_time`` and ``fail_trace`` (a list of strings) for failed runs. A queued
run's document is ``experiment, command, host, config, meta (with queue_time),
status, queue_time, _id``. ``info["metrics"]`` lists ``{"id": str(metric _id),
"name": ...}`` for each metric of the run. numpy values in ``info`` are stored as
the original stores them (``{"py/object": "numpy.ndarray", "dtype", "values"}``);
keys containing ``.`` or starting with ``$`` are stored as they are (MongoDB 5+
accepts them), and only a server that refuses them gets them with ``.``/``$``
replaced by the full-width ``．``/``＄``.

GridFS (always the ``fs`` collections, also with ``collection_prefix``): sources
and resources under their absolute path with an ``md5`` field (stored once per
content); artifacts under ``artifact://<runs collection>/<run id>/<name>`` with
``metadata`` and ``contentType`` (given, or guessed from the name like the original
does: ``image/png``, ``text/plain``, ...).

Connections: constructing the observer never connects (``connect=False``); the
server is first contacted when a run starts, with a short server selection timeout
(``serverSelectionTimeoutMS``, default 3000), so an unreachable server is one clear
error within seconds.

After the first insert the observer only ever ``$set``s its own fields, so fields
that other tools add (``tags`` and ``note`` from sacred.store) survive a running run.

Robustness: a document that would exceed MongoDB's 16 MB limit is trimmed —
captured output first (keeping its end, with a note of how much was dropped), then
the info dict — with a warning instead of failing the run. When the database is
unreachable at the end, the final save is retried and then the complete record
is written to ``failure_dir``: the document pickled into
``sacred_mongo_fail_<id>_<random>.pickle`` as the original does, and the document, the
unsaved metrics and the error as JSON in the ``.json`` file of the same name.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import os
import pickle
import re
import tempfile
import time
from typing import Any

from sacred.dependencies import get_digest
from sacred.exceptions import ObserverError
from sacred.observers._record import RecordObserver, encode_numpy_as_original, may_take_over
from sacred.observers.base import RunObserver
from sacred.serializer import flatten

__all__ = ["MongoObserver", "QueuedMongoObserver", "parse_mongo_flag"]

logger = logging.getLogger(__name__)

DEFAULT_MONGO_PRIORITY = 30
DEFAULT_SERVER_SELECTION_TIMEOUT_MS = 3000
MAX_DOCUMENT_SIZE = 16 * 1024 * 1024 - 256 * 1024  # leave room for the BSON overhead


def _safe_keys(value: Any) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, sub in value.items():
            key = str(key)
            if "." in key or key.startswith("$"):
                key = key.replace(".", "\uff0e").replace("$", "\uff04", 1)
            out[key] = _safe_keys(sub)
        return out
    if isinstance(value, list):
        return [_safe_keys(v) for v in value]
    return value


_FLAG = re.compile(
    r"^(?:(?P<host>[^:!]+):(?P<port>\d+):)?(?P<db>[A-Za-z0-9_\-]+)"
    r"(?:\.(?P<collection>[A-Za-z0-9_\-.]+))?(?:!(?P<priority>-?\d+))?$"
)


def parse_mongo_flag(value: str) -> dict:
    """'[host:port:]db_name[.collection][!priority]' (or a mongodb:// URL) -> kwargs."""
    priority = None
    if value.startswith(("mongodb://", "mongodb+srv://")):
        url, _, rest = value.partition("!")
        if rest:
            priority = int(rest)
        path = url.split("://", 1)[1].split("/", 1)
        db = path[1].split("?", 1)[0] if len(path) > 1 and path[1] else "sacred"
        kwargs: dict = {"url": url, "db_name": db}
    else:
        match = _FLAG.match(value)
        if match is None:
            raise ValueError(
                f"-m/--mongo_db: cannot read {value!r}. Accepted forms: DB_NAME, "
                "DB_NAME.COLLECTION, HOST:PORT:DB_NAME[.COLLECTION], any of these followed "
                "by !PRIORITY, or a mongodb:// URL."
            )
        kwargs = {"db_name": match["db"]}
        if match["host"]:
            kwargs["url"] = f"{match['host']}:{match['port']}"
        if match["collection"]:
            kwargs["collection"] = match["collection"]
        if match["priority"]:
            priority = int(match["priority"])
    if priority is not None:
        kwargs["priority"] = priority
    return kwargs


def _content_type(name: str) -> str | None:
    """The artifact's content type as the original guesses it (from the file name)."""
    return mimetypes.guess_type(name, strict=False)[0]


def _server_of(client: Any) -> str:
    try:
        nodes = client.topology_description.server_descriptions()
        return ", ".join(f"{host}:{port}" for host, port in nodes) or "the server"
    except Exception:
        return "the server"


class MongoObserver(RecordObserver):
    """Stores runs in MongoDB (see the module docstring for the layout).

    Args:
        url: a ``host:port`` or ``mongodb://`` URL (default localhost:27017).
        db_name: the database (default 'sacred').
        collection: the runs collection (default 'runs'); its metrics go to 'metrics'.
        collection_prefix: instead of ``collection``: collections ``<prefix>_runs``
            and ``<prefix>_metrics`` (GridFS stays ``fs``).
        overwrite: the id of a run whose document this run replaces.
        priority: observers with higher priority are notified first.
        client: an existing ``MongoClient`` (instead of ``url`` and client options).
        failure_dir: where the record is dumped as JSON when the final save fails.
        **kwargs: options for ``pymongo.MongoClient``.
    """

    COLLECTION_NAME_BLACKLIST = {
        "fs.files",
        "fs.chunks",
        "_properties",
        "system.indexes",
        "search_space",
        "search_spaces",
    }
    VERSION = "MongoObserver-0.7.0"
    RECORD_FORMAT = VERSION

    def __init__(
        self,
        url: str | None = None,
        db_name: str = "sacred",
        collection: str | None = None,
        collection_prefix: str | None = None,
        overwrite: int | str | None = None,
        priority: int = DEFAULT_MONGO_PRIORITY,
        client: Any = None,
        failure_dir: str | os.PathLike | None = None,
        **kwargs: Any,
    ) -> None:
        if client is not None and (url is not None or kwargs):
            given = ", ".join(["url"] * (url is not None) + sorted(kwargs))
            raise ValueError(
                f"MongoObserver: pass either client or url (and client options), not both "
                f"(got client and {given}). Configure the MongoClient you pass instead."
            )
        if client is not None:
            _check_client(client)
        if collection is not None and collection_prefix is not None:
            raise ValueError(
                f"MongoObserver: pass either collection ({collection!r}) or "
                f"collection_prefix ({collection_prefix!r}), not both: the prefix names the "
                "collections <prefix>_runs and <prefix>_metrics."
            )
        if collection_prefix:
            runs_name, metrics_name = f"{collection_prefix}_runs", f"{collection_prefix}_metrics"
        else:
            runs_name, metrics_name = collection or "runs", "metrics"
        if runs_name in self.COLLECTION_NAME_BLACKLIST:
            raise KeyError(
                f'Collection name "{runs_name}" is reserved; use another one '
                f"(not {sorted(self.COLLECTION_NAME_BLACKLIST)})."
            )
        if client is None:
            import pymongo

            # connect=False: constructing an observer (e.g. for print_config) must not
            # touch the network; a short server selection makes an unreachable server
            # one clear error at run start instead of a 30 s wait.
            kwargs.setdefault("serverSelectionTimeoutMS", DEFAULT_SERVER_SELECTION_TIMEOUT_MS)
            kwargs.setdefault("connect", False)
            client = pymongo.MongoClient(url or "localhost:27017", **kwargs)
        database = client[db_name]
        self.client = client
        self.initialize(
            database[runs_name],
            None,  # GridFS is made on first use (it may touch the server)
            overwrite=overwrite,
            metrics_collection=database[metrics_name],
            failure_dir=failure_dir,
            priority=priority,
        )
        self._database = database

    def initialize(
        self,
        runs_collection: Any,
        fs: Any,
        overwrite: Any = None,
        metrics_collection: Any = None,
        failure_dir: Any = None,
        priority: int = DEFAULT_MONGO_PRIORITY,
    ) -> None:
        self.runs = runs_collection
        self.metrics = metrics_collection
        self._fs = fs
        self._database = getattr(runs_collection, "database", None)
        self.overwrite = overwrite
        self.failure_dir = os.fspath(failure_dir) if failure_dir else None
        self.priority = priority
        self._begin()

    @property
    def fs(self) -> Any:
        if self._fs is None:
            import gridfs

            self._fs = gridfs.GridFS(self._database)  # always "fs", as the original
        return self._fs

    @fs.setter
    def fs(self, value: Any) -> None:
        self._fs = value

    def _begin(self) -> None:
        super()._begin()
        self._metric_ids: dict[str, Any] = {}
        self._unsaved_metrics: dict = {}
        self._safe_keys = False
        self._fence: Any = None  # the worker's claim the writes are fenced by

    @classmethod
    def create(cls, *args: Any, **kwargs: Any) -> MongoObserver:
        return cls(*args, **kwargs)

    @classmethod
    def create_from(cls, *args: Any, **kwargs: Any) -> MongoObserver:
        """An observer on existing collections: create_from(runs, fs, ...)."""
        self = cls.__new__(cls)
        self.client = None
        self.initialize(*args, **kwargs)
        return self

    @classmethod
    def from_cli(cls, value: str) -> MongoObserver:
        return cls(**parse_mongo_flag(value))

    # -- encoding -------------------------------------------------------------------------

    def _encode(self, value: Any) -> Any:
        flat = flatten(value, datetimes="keep")
        return _safe_keys(flat) if self._safe_keys else flat

    def _encode_info(self, info: dict) -> Any:
        encoded = encode_numpy_as_original(info)
        return _safe_keys(encoded) if self._safe_keys else encoded

    def _write(self, operation: Any) -> Any:
        """Run a write; a server refusing keys with '.' or '$' gets them replaced."""
        import bson.errors
        import pymongo.errors

        try:
            return operation()
        except (bson.errors.InvalidDocument, pymongo.errors.WriteError) as exc:
            if self._safe_keys or not _is_key_error(exc):
                raise
            logger.warning(
                "MongoObserver: the server refuses keys containing '.' or starting with "
                "'$' (%s); they are stored with full-width replacements instead",
                exc,
            )
            self._safe_keys = True
            self.run_entry = _safe_keys(self.run_entry)
            return operation()

    # -- storing -------------------------------------------------------------------------

    def _trimmed(self, entry: dict) -> dict:
        import bson

        if len(bson.encode(entry)) <= MAX_DOCUMENT_SIZE:
            return entry
        entry = dict(entry)
        out = entry.get("captured_out") or ""
        excess = len(bson.encode(entry)) - MAX_DOCUMENT_SIZE
        if out and excess > 0:
            keep = max(0, len(out) - excess - 1024)
            dropped = len(out) - keep
            entry["captured_out"] = (
                f"[sacred: {dropped} characters of captured output were dropped to fit "
                f"MongoDB's 16 MB document limit]\n" + out[len(out) - keep :]
            )
            logger.warning("MongoObserver: captured output trimmed by %d characters", dropped)
        if len(bson.encode(entry)) > MAX_DOCUMENT_SIZE:
            entry["info"] = {
                "sacred_note": "the info dict was dropped: it exceeded MongoDB's "
                "16 MB document limit"
            }
            logger.warning("MongoObserver: the info dict was dropped (document too large)")
        return entry

    def _check_server(self) -> None:
        """One clear line when the server cannot be reached (at run start)."""
        import pymongo.errors

        try:
            self.runs.find_one({}, projection={"_id": 1})
        except pymongo.errors.ServerSelectionTimeoutError as exc:
            client = self.client if self.client is not None else self.runs.database.client
            raise ObserverError(
                f"MongoObserver cannot reach the MongoDB server at {_server_of(client)} "
                f"(no answer within the server selection timeout: {_first_reason(exc)}). "
                "Start the server or check the address (-m HOST:PORT:DB_NAME or url=...)."
            ) from None

    def _open(self, entry: dict, _id: Any, queued: bool) -> Any:
        if self.overwrite is not None:
            self.run_entry = {"_id": self.overwrite, **entry}
            self._write(
                lambda: self.runs.replace_one(
                    {"_id": self.overwrite}, self._trimmed(self.run_entry), upsert=True
                )
            )
            return self.overwrite
        if _id is not None:
            from sacred.observers.claiming import Fence, claim_token, claimed_by_this_process

            kept = {"status": 1, "meta.claim": 1, "artifacts": 1, "resources": 1}
            found = self.runs.find_one({"_id": _id}, projection=kept)
            status = None if found is None else found.get("status", "unknown status")
            # A run a worker claimed for this process (sacred.worker) is taken over too.
            claimed = found is not None and claimed_by_this_process(found.get("meta"))
            where = f"the collection {self.runs.name!r}"
            if may_take_over(self, where, _id, status, queued, claimed=claimed):
                self.run_entry = {"_id": _id, **entry}
                if claimed:  # a resumed run keeps its files
                    for field in ("artifacts", "resources"):
                        self.run_entry[field] = found.get(field) or []
                taken = self._write(
                    lambda: self.runs.replace_one(
                        takeover_filter(_id), self._trimmed(self.run_entry)
                    )
                )
                if claimed:
                    if not taken.matched_count:
                        raise ObserverError(
                            f"MongoObserver: run {_id} was re-queued and handed to another "
                            "attempt before this one could start; this attempt does not run."
                        )
                    token = claim_token()
                    assert token is not None  # claimed_by_this_process() matched it
                    self._fence = Fence(_id, token)  # every later write is fenced
                return _id
        return self._insert(entry, _id, queued)

    def _insert(self, entry: dict, _id: Any, queued: bool) -> Any:
        import pymongo.errors

        autoinc = _id is None
        while True:
            if autoinc:
                last = self.runs.find_one({}, sort=[("_id", -1)], projection={"_id": 1})
                _id = (last["_id"] if last and isinstance(last["_id"], int) else 0) + 1
            # The original's layout: _id first in a started run, last in a queued one.
            self.run_entry = {**entry, "_id": _id} if queued else {"_id": _id, **entry}
            try:
                self._write(lambda: self.runs.insert_one(self._trimmed(self.run_entry)))
            except pymongo.errors.DuplicateKeyError:
                if not autoinc:
                    found = self.runs.find_one({"_id": _id}) or {}
                    status = found.get("status", "unknown status")
                    where = f"the collection {self.runs.name!r}"
                    may_take_over(self, where, _id, status, queued)
                    return self._open(entry, _id, queued)  # a queued run, just created
                continue  # another process took this id: take the next one
            return _id

    def save(self, fields: tuple[str, ...] | list[str] | None = None) -> None:
        """$set the observer's own fields (never replace the whole document)."""

        fence = self._fence
        if fence is not None and fence.is_lost:
            return

        def update() -> Any:
            entry = self._trimmed(self.run_entry)
            keys = fields or [k for k in entry if k != "_id"]
            changes = {"$set": {k: entry[k] for k in keys if k in entry}}
            return self.runs.update_one(self._run_filter(), changes)

        done = self._write(update)
        if fence is not None and not done.matched_count:
            fence.lost(f"the collection {self.runs.name!r}")

    def _run_filter(self) -> dict:
        """The run's document, and under a worker's claim only while it holds the
        claim (the fence, sacred.observers.claiming): a filtered update."""
        if self._fence is None:
            return {"_id": self.run_entry["_id"]}
        return {"_id": self.run_entry["_id"], "meta.claim.token": self._fence.token}

    def _fenced(self) -> bool:
        """Whether this attempt may write outside its run document (metrics) now."""
        fence = self._fence
        if fence is None:
            return True
        if not fence.is_lost and self.runs.find_one(self._run_filter(), {"_id": 1}):
            return True
        fence.lost(f"the collection {self.runs.name!r}")
        return False

    _save = save

    def _save_final(self) -> None:
        self.final_save()

    def final_save(self, attempts: int = 3) -> None:
        import pymongo.errors

        for attempt in range(attempts):
            try:
                self.save()
                return
            except pymongo.errors.PyMongoError as exc:
                error = exc
                time.sleep(min(2**attempt, 5))
        self._dump_failure(error)

    def _dump_failure(self, error: Exception) -> None:
        if not self.failure_dir:
            logger.error(
                "MongoObserver could not save the run and no failure_dir is set: %s", error
            )
            raise error
        os.makedirs(self.failure_dir, exist_ok=True)
        # The original's file: the run document pickled into
        # ``sacred_mongo_fail_<id>_<random>.pickle`` (recovery scripts unpickle it and
        # insert it as it is); beside it, the same name with ``.json``: the document,
        # the metrics points not yet stored and the error, readable without Python.
        try:
            pickled = pickle.dumps(self.run_entry)
        except Exception as exc:  # the JSON below still keeps the run
            logger.warning("MongoObserver: the run document cannot be pickled (%s)", exc)
            pickled = None
        with tempfile.NamedTemporaryFile(
            prefix=f"sacred_mongo_fail_{self.run_entry.get('_id', 'unknown')}_",
            suffix=".pickle",
            dir=self.failure_dir,
            delete=False,
        ) as dump:
            dump.write(pickled or b"")
        pickle_path = dump.name
        json_path = pickle_path[: -len(".pickle")] + ".json"
        record = {
            "run": flatten(self.run_entry, datetimes="iso"),
            "metrics": flatten(self._unsaved_metrics, datetimes="iso"),
            "error": str(error),
        }
        with open(json_path, "w", encoding="utf-8") as f:
            json.dump(record, f, indent=2, default=str)
        if pickled is None:
            os.remove(pickle_path)
        logger.error(
            "MongoObserver could not reach the database (%s); the run was saved to %s",
            error,
            json_path if pickled is None else f"{pickle_path} (and {json_path})",
        )

    def _store_file_once(self, path: str, md5: str | None = None) -> Any:
        """The GridFS id of the file ``path`` with this content, stored if needed."""
        md5 = md5 or get_digest(path)
        existing = self.fs.find_one({"filename": path, "md5": md5})
        if existing is not None:
            return existing._id
        with open(path, "rb") as f:
            return self.fs.put(f, filename=path, md5=md5)

    def save_sources(self, ex_info: dict) -> list:
        sources = []
        for name, md5, path in self._source_files(ex_info):
            file_id = self._store_file_once(path, md5) if os.path.isfile(path) else None
            sources.append([name, file_id])
        return sources

    def _save_sources(self, ex_info: dict) -> list:
        return self.save_sources(ex_info)

    # -- events --------------------------------------------------------------------------

    def started_event(self, ex_info, command, host_info, start_time, config, meta_info, _id):
        self._check_server()
        return super().started_event(
            ex_info, command, host_info, start_time, config, meta_info, _id
        )

    def queued_event(self, ex_info, command, host_info, queue_time, config, meta_info, _id):
        self._check_server()
        return super().queued_event(ex_info, command, host_info, queue_time, config, meta_info, _id)

    def log_metrics(self, metrics_by_name, info):
        if self.metrics is None or not self._fenced():
            return
        for name, series in metrics_by_name.items():
            try:
                result = self.metrics.update_one(
                    {"run_id": self.run_entry["_id"], "name": name},
                    {
                        "$push": {
                            "steps": {"$each": list(series["steps"])},
                            "values": {"$each": list(series["values"])},
                            "timestamps": {"$each": list(series["timestamps"])},
                        }
                    },
                    upsert=True,
                )
            except Exception:
                pending = self._unsaved_metrics.setdefault(
                    name, {"steps": [], "values": [], "timestamps": []}
                )
                for key in ("steps", "values", "timestamps"):
                    pending[key].extend(series[key])
                raise
            if name not in self._metric_ids:
                metric_id = result.upserted_id
                if metric_id is None:
                    found = self.metrics.find_one(
                        {"run_id": self.run_entry["_id"], "name": name}, {"_id": 1}
                    )
                    metric_id = found["_id"] if found else None
                self._metric_ids[name] = metric_id
        entries = [{"name": name, "id": str(mid)} for name, mid in self._metric_ids.items()]
        self.run_entry["info"] = dict(self.run_entry.get("info") or {}, metrics=entries)
        info.setdefault("metrics", entries)

    def _store_resource(self, filename: str) -> list:
        md5 = get_digest(filename)
        self._store_file_once(filename, md5)  # its content, for readers (not in the record)
        return [filename, md5]

    def _store_artifact(
        self, name: str, filename: str, metadata: dict | None, content_type: str | None
    ) -> dict:
        with open(filename, "rb") as f:
            file_id = self.fs.put(
                f,
                filename=f"artifact://{self.runs.name}/{self.run_entry['_id']}/{name}",
                metadata=self._encode(metadata) if metadata is not None else None,
                contentType=content_type or _content_type(filename),
            )
        return {"name": name, "file_id": file_id}

    def _location(self) -> Any:
        database = getattr(self.runs, "database", None)
        client = getattr(database, "client", None)
        if database is None or client is None:  # collections of some other kind
            return id(self.runs)
        return (database.name, self.runs.name, id(client))


def takeover_filter(_id: Any) -> dict:
    """The runs a starting run with this id may take over: a queued one, or one a
    worker claimed for this very process."""
    from sacred.observers.claiming import claim_token

    token = claim_token()
    if token is None:
        return {"_id": _id, "status": "QUEUED"}
    return {"_id": _id, "$or": [{"status": "QUEUED"}, {"meta.claim.token": token}]}


def _check_client(client: Any) -> None:
    """A given client must be a ``pymongo.MongoClient`` (ValueError, as the original).

    mongomock's ``MongoClient`` is accepted too: it is the in-memory stand-in that
    tests (users' and ours) pass instead of a server. ``pymongo.MongoClient`` is looked
    up at the call, so tests that monkeypatch it (as the original's own tests do) work.
    """
    import pymongo

    accepted = pymongo.MongoClient
    if isinstance(accepted, type) and isinstance(client, accepted):
        return
    if type(client).__module__.split(".")[0] == "mongomock":
        return
    raise ValueError(
        f"MongoObserver: client must be a pymongo.MongoClient, not "
        f"{type(client).__module__}.{type(client).__qualname__}. Pass "
        "client=pymongo.MongoClient(...) or url='host:port' instead."
    )


def _first_reason(exc: Exception) -> str:
    """pymongo's message without its list of every server and configured timeout."""
    return str(exc).split(" (configured timeouts")[0].split(", Timeout:")[0].strip()


def _is_key_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "key" in text or "field name" in text or "dollar" in text or "dot" in text


class QueuedMongoObserver(RunObserver):
    """A MongoObserver behind a QueueObserver: events are delivered by a background
    thread, retried while the database is unreachable (see QueueObserver)."""

    def __new__(cls, *args: Any, interval: float = 20.0, **kwargs: Any):
        from sacred.observers.queue import QueueObserver

        priority = kwargs.get("priority", DEFAULT_MONGO_PRIORITY)
        # The queue's own options (retry_interval as the original has it, and ours);
        # everything else is the MongoObserver's.
        queue_options = {
            key: kwargs.pop(key)
            for key in ("retry_interval", "give_up_after", "dump_dir")
            if key in kwargs
        }
        observer = QueueObserver(MongoObserver(*args, **kwargs), interval=interval, **queue_options)
        observer.priority = priority
        return observer

    @classmethod
    def create(cls, *args: Any, **kwargs: Any):
        return cls(*args, **kwargs)
