"""MongoObserver: the documented ``runs`` document, metrics and GridFS files.

Layout in the database (``db_name``, default 'sacred')::

    runs           one document per run (see below), integer _id 1, 2, 3, ...
    metrics        {_id, name, run_id, steps: [...], values: [...], timestamps: [...]}
    fs.files/chunks  GridFS: sources (deduplicated by md5), resources, artifacts

A run document: ``_id, format ("MongoObserver-0.7.0"), status, result, start_time,
heartbeat, stop_time, config, info, resources [[filename, file_id]], artifacts
[{name, file_id}], captured_out, experiment {name, base_dir, doc, mainfile,
dependencies, sources [[name, file_id]], repositories}, host, meta, command,
fail_trace, queue_time``. ``info["metrics"]`` lists ``{"id": str(metric _id),
"name": ...}`` for each metric of the run.

After the first insert the observer only ever ``$set``s its own fields, so fields
that other tools add (``tags`` and ``note`` from sacred.store) survive a running run.

Robustness: a document that would exceed MongoDB's 16 MB limit is trimmed —
captured output first (keeping its end, with a note of how much was dropped), then
the info dict — with a warning instead of failing the run. When the database is
unreachable at the end, the final save is retried and then the complete record
(document, metrics, file names) is written as JSON to ``failure_dir``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from typing import Any

from sacred.dependencies import get_digest
from sacred.observers.base import RunObserver
from sacred.serializer import flatten

__all__ = ["MongoObserver", "QueuedMongoObserver", "parse_mongo_flag"]

logger = logging.getLogger(__name__)

DEFAULT_MONGO_PRIORITY = 30
MAX_DOCUMENT_SIZE = 16 * 1024 * 1024 - 256 * 1024  # leave room for the BSON overhead


def _mongo_value(value: Any) -> Any:
    """BSON-storable data: flattened, keys without '.' or a leading '$'."""
    flat = flatten(value, datetimes="keep")
    return _safe_keys(flat)


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


class MongoObserver(RunObserver):
    COLLECTION_NAME_BLACKLIST = {
        "fs.files",
        "fs.chunks",
        "_properties",
        "system.indexes",
        "search_space",
        "search_spaces",
    }
    VERSION = "MongoObserver-0.7.0"

    def __init__(
        self,
        url: str | None = None,
        db_name: str = "sacred",
        collection: str = "runs",
        collection_prefix: str = "",
        overwrite: int | str | None = None,
        priority: int = DEFAULT_MONGO_PRIORITY,
        client: Any = None,
        failure_dir: str | os.PathLike | None = None,
        **kwargs: Any,
    ) -> None:
        if client is None:
            import pymongo

            client = pymongo.MongoClient(url or "localhost:27017", **kwargs)
        if collection in self.COLLECTION_NAME_BLACKLIST:
            raise KeyError(
                f'Collection name "{collection}" is reserved; use another one '
                f"(not {sorted(self.COLLECTION_NAME_BLACKLIST)})."
            )
        prefix = f"{collection_prefix}_" if collection_prefix else ""
        database = client[db_name]
        import gridfs

        self.client = client
        self.initialize(
            database[prefix + collection],
            gridfs.GridFS(database, collection=prefix + "fs" if prefix else "fs"),
            overwrite=overwrite,
            metrics_collection=database[prefix + "metrics"],
            failure_dir=failure_dir,
            priority=priority,
        )

    def initialize(
        self,
        runs_collection,
        fs,
        overwrite=None,
        metrics_collection=None,
        failure_dir=None,
        priority=DEFAULT_MONGO_PRIORITY,
    ) -> None:
        self.runs = runs_collection
        self.metrics = metrics_collection
        self.fs = fs
        self.overwrite = overwrite
        self.failure_dir = os.fspath(failure_dir) if failure_dir else None
        self.priority = priority
        self.run_entry: dict = {}
        self._metric_ids: dict[str, Any] = {}
        self._inserted = False

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

    def insert(self) -> Any:
        import pymongo.errors

        if self.overwrite is not None:
            self.run_entry["_id"] = self.overwrite
            self.runs.replace_one({"_id": self.overwrite}, self._trimmed(self.run_entry))
            self._inserted = True
            return self.overwrite
        autoinc = "_id" not in self.run_entry
        while True:
            if autoinc:
                last = self.runs.find_one({}, sort=[("_id", -1)], projection={"_id": 1})
                last_id = last["_id"] if last and isinstance(last["_id"], int) else 0
                self.run_entry["_id"] = last_id + 1
            try:
                self.runs.insert_one(self._trimmed(self.run_entry))
            except pymongo.errors.DuplicateKeyError:
                if not autoinc:
                    raise
                continue  # another process took this id: take the next one
            self._inserted = True
            return self.run_entry["_id"]

    def save(self, fields: list[str] | None = None) -> None:
        """$set the observer's own fields (never replace the whole document)."""
        entry = self._trimmed(self.run_entry)
        keys = fields or [k for k in entry if k != "_id"]
        self.runs.update_one(
            {"_id": self.run_entry["_id"]}, {"$set": {k: entry[k] for k in keys if k in entry}}
        )

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
        name = f"sacred_mongo_fail_{self.run_entry.get('_id', 'unknown')}_{int(time.time())}.json"
        path = os.path.join(self.failure_dir, name)
        record = {
            "run": flatten(self.run_entry, datetimes="iso"),
            "metrics": flatten(self._unsaved_metrics, datetimes="iso"),
            "error": str(error),
        }
        with open(path, "w", encoding="utf-8") as f:
            json.dump(record, f, indent=2, default=str)
        logger.error(
            "MongoObserver could not reach the database (%s); the run was saved to %s", error, path
        )

    def _store_file(self, filename: str, name: str | None = None, **extra: Any) -> Any:
        with open(filename, "rb") as f:
            return self.fs.put(f, filename=name or filename, **extra)

    def save_sources(self, ex_info: dict) -> list:
        base_dir = ex_info.get("base_dir") or ""
        sources = []
        for name, md5 in ex_info.get("sources", []):
            path = name if os.path.isabs(name) else os.path.join(base_dir, name)
            existing = self.fs.find_one({"filename": path, "md5": md5})
            if existing is not None:
                file_id = existing._id
            elif os.path.isfile(path):
                file_id = self._store_file(path, md5=md5)
            else:
                file_id = None
            sources.append([name, file_id])
        return sources

    # -- events --------------------------------------------------------------------------

    def _entry(self, ex_info, command, host_info, config, meta_info) -> dict:
        experiment = _mongo_value(dict(ex_info))
        experiment["sources"] = self.save_sources(ex_info)  # [name, ObjectId]: BSON as is
        return {
            "format": self.VERSION,
            "experiment": experiment,
            "command": command,
            "host": _mongo_value(host_info or {}),
            "config": _mongo_value(config),
            "meta": _mongo_value(meta_info or {}),
            "info": {},
            "resources": [],
            "artifacts": [],
            "captured_out": "",
        }

    def queued_event(self, ex_info, command, host_info, queue_time, config, meta_info, _id):
        self.run_entry = self._entry(ex_info, command, host_info, config, meta_info)
        self.run_entry.update({"status": "QUEUED", "queue_time": queue_time})
        if _id is not None:
            self.run_entry["_id"] = _id
        self._unsaved_metrics: dict = {}
        return self.insert()

    def started_event(self, ex_info, command, host_info, start_time, config, meta_info, _id):
        kept: dict = {}
        if _id is not None and self.overwrite is None:
            from sacred.observers.mongo.claim import takeover_filter  # queued or claimed

            queued = self.runs.find_one(takeover_filter(_id))
            if queued is not None:  # a queued run being started takes its record over
                self.overwrite = _id
                kept = {k: queued.get(k) or [] for k in ("artifacts", "resources")}
        self.run_entry = self._entry(ex_info, command, host_info, config, meta_info)
        self.run_entry.update(
            {
                "status": "RUNNING",
                "start_time": start_time,
                "heartbeat": None,
                "stop_time": None,
                "result": None,
            }
        )
        if _id is not None:
            self.run_entry["_id"] = _id
        self.run_entry.update(kept)  # a resumed run keeps its files
        self._metric_ids = {}
        self._unsaved_metrics = {}
        return self.insert()

    def heartbeat_event(self, info, captured_out, beat_time, result):
        self.run_entry["info"] = _mongo_value(info)
        self.run_entry["captured_out"] = captured_out
        self.run_entry["heartbeat"] = beat_time
        self.run_entry["result"] = _mongo_value(result)
        self.save(["info", "captured_out", "heartbeat", "result"])

    def log_metrics(self, metrics_by_name, info):
        if self.metrics is None:
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
        entries = [{"id": str(mid), "name": name} for name, mid in self._metric_ids.items()]
        self.run_entry["info"] = dict(self.run_entry.get("info") or {}, metrics=entries)
        info.setdefault("metrics", entries)

    def completed_event(self, stop_time, result):
        self.run_entry.update(
            {"stop_time": stop_time, "result": _mongo_value(result), "status": "COMPLETED"}
        )
        self.final_save()

    def interrupted_event(self, interrupt_time, status):
        self.run_entry.update({"stop_time": interrupt_time, "status": status})
        self.final_save()

    def failed_event(self, fail_time, fail_trace):
        self.run_entry.update(
            {"stop_time": fail_time, "status": "FAILED", "fail_trace": list(fail_trace)}
        )
        self.final_save()

    def resource_event(self, filename):
        md5 = get_digest(filename)
        existing = self.fs.find_one({"filename": filename, "md5": md5})
        file_id = existing._id if existing is not None else self._store_file(filename, md5=md5)
        entry = [filename, file_id]
        if entry not in self.run_entry["resources"]:
            self.run_entry["resources"].append(entry)
            self.save(["resources"])

    def artifact_event(self, name, filename, metadata=None, content_type=None):
        extra = {"md5": get_digest(filename)}
        if metadata is not None:
            extra["metadata"] = _mongo_value(metadata)
        if content_type is not None:
            extra["content_type"] = content_type
        file_id = self._store_file(
            filename, name=f"artifact://{self.runs.name}/{self.run_entry['_id']}/{name}", **extra
        )
        self.run_entry["artifacts"].append({"name": name, "file_id": file_id})
        self.save(["artifacts"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MongoObserver) and other.runs == self.runs

    __hash__ = RunObserver.__hash__


class QueuedMongoObserver(RunObserver):
    """A MongoObserver behind a QueueObserver: events are delivered by a background
    thread, retried while the database is unreachable (see QueueObserver)."""

    def __new__(cls, *args: Any, interval: float = 20.0, **kwargs: Any):  # type: ignore[misc]
        from sacred.observers.queue import QueueObserver

        priority = kwargs.get("priority", DEFAULT_MONGO_PRIORITY)
        observer = QueueObserver(MongoObserver(*args, **kwargs), interval=interval)
        observer.priority = priority
        return observer

    @classmethod
    def create(cls, *args: Any, **kwargs: Any):
        return cls(*args, **kwargs)
