"""Reading the MongoObserver's layout for ``sacred.store``; queries become Mongo filters.

``open_store("mongodb://host:27017/db_name")`` reads the collection 'runs' (give
``collection=`` or ``collection_prefix=`` as the observer was given them). For
tests, ``open_store("mongomock://db", client=...)`` reads an in-memory mongomock
client.

Translation (same answers as the Python reference, sacred.store.query): missing and
null are one thing (``{f: null}`` matches both), ``!=`` needs a value
(``$nin: [v, null]``), ordering comparisons exclude lists (``$not: {$type:
"array"}``), ``status`` is the effective status (RUNNING with a heartbeat, or
without one a start, older than ``dead_after`` reads PROBABLY_DEAD), ``artifacts``
are matched by name and times compare with ISO strings as times. Sorting runs in an
aggregation pipeline that computes the effective status and puts missing values
last in both directions. Queries on ``experiment.sources`` or ``resources`` (pairs
of name and file id) and ``=~``/ordering on ``status`` fall back to Python.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from typing import Any

from sacred.exceptions import StoreError
from sacred.observers.mongo.query import MongoTranslator, Unsupported
from sacred.store.base import (
    DamagedRunError,
    StoreBackend,
    damage_message,
    record_problem,
    report_damaged,
)
from sacred.store.decode import decode_keys

__all__ = ["MongoReader"]

_TIME_FIELDS = {"start_time", "stop_time", "heartbeat", "queue_time"}
# MongoDB field names may not contain "." or start with "$": the MongoObserver
# stores them as the full-width characters, which read back as what was logged.
_KEY_CHARACTERS = {"\uff0e": ".", "\uff04": "$"}
#: A trashed run keeps its document (so that no observer gives its id again) with
#: this field; every query leaves such documents out.
TRASHED = "trashed_at"
_LIVE = {TRASHED: {"$exists": False}}


class MongoReader(StoreBackend):
    pushes_down = True

    def __init__(
        self,
        location: str,
        client: Any = None,
        collection: str = "runs",
        collection_prefix: str = "",
        **client_kwargs: Any,
    ) -> None:
        scheme, _, rest = location.partition("://")
        db_name = rest.split("/", 1)[1].split("?", 1)[0] if "/" in rest else ""
        if scheme == "mongomock":
            db_name = rest.strip("/") or "sacred"
            if client is None:
                import mongomock

                client = mongomock.MongoClient()
        elif client is None:
            import pymongo

            client = pymongo.MongoClient(location, serverSelectionTimeoutMS=5000, **client_kwargs)
        prefix = f"{collection_prefix}_" if collection_prefix else ""
        self.client = client
        self.db = client[db_name or "sacred"]
        self.runs = self.db[prefix + collection]
        self.metrics_collection = self.db[prefix + "metrics"]
        self.views_collection = self.db[prefix + "sacred_views"]
        import gridfs

        self.fs = gridfs.GridFS(self.db, collection=prefix + "fs" if prefix else "fs")
        try:
            self.runs.find_one({}, {"_id": 1})
        except Exception as exc:
            raise StoreError(f"Cannot open the MongoDB store {location!r}: {exc}") from None

    # -- reading ----------------------------------------------------------------------

    def _record(self, doc: dict) -> dict:
        record = {
            key: value if key == "_id" else decode_keys(value, _KEY_CHARACTERS)
            for key, value in doc.items()
        }
        record.pop("format", None)
        artifacts = doc.get("artifacts")
        if isinstance(artifacts, list):
            record["artifacts"] = [a["name"] if isinstance(a, dict) else a for a in artifacts]
        record.setdefault("tags", [])
        record.setdefault("artifacts", [])  # a queued run of the original has none
        record.setdefault("note", None)
        record.pop("captured_out", None)
        meta = record.get("meta")
        if "queue_time" not in record and isinstance(meta, dict) and "queue_time" in meta:
            record["queue_time"] = meta["queue_time"]  # where the original release keeps it
        for field in _TIME_FIELDS:
            value = record.get(field)
            if isinstance(value, datetime.datetime) and value.tzinfo is not None:
                value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
                record[field] = value
        return record

    def _checked(self, doc: Any) -> dict | None:
        """The record of a document, or None (reported) when it is damaged."""
        record = self._record(doc) if isinstance(doc, dict) else doc
        problem = record_problem(record)
        if problem is None:
            return record
        run_id = doc.get("_id") if isinstance(doc, dict) else "?"
        report_damaged(self._location(), run_id, f"{self.runs.name} document", problem)
        return None

    def _location(self) -> str:
        return f"the MongoDB database {self.db.name!r}"

    def iter_records(self) -> Iterator[dict]:
        for doc in self.runs.find(_LIVE, {"captured_out": 0}):
            record = self._checked(doc)
            if record is not None:
                yield record

    def find_records(self, query, sort, limit, dead_after):
        translator = MongoTranslator(dead_after, self.client)
        try:
            match = translator.match(query)
            if any(path[0] == "metrics" for path, _ in sort):
                raise Unsupported("a sort by metric summaries")
        except Unsupported:
            return super().find_records(query, sort, limit, dead_after)
        match = {"$and": [match, _LIVE]} if match else _LIVE
        pipeline: list[dict] = [{"$match": match}, {"$project": {"captured_out": 0}}]
        if sort:
            keys: dict[str, int] = {}
            added: dict[str, Any] = {}
            for i, (path, descending) in enumerate(sort):
                field = ".".join(path)
                if path == ("status",):
                    added["_sacred_status"] = translator.effective_status()
                    field = "_sacred_status"
                elif path == ("artifacts",):
                    field = "artifacts.name"
                elif path == ("queue_time",):  # kept in meta only, as the original does
                    field = "meta.queue_time"
                added[f"_sacred_missing_{i}"] = {
                    "$cond": [{"$eq": [{"$ifNull": [f"${field}", None]}, None]}, 1, 0]
                }
                keys[f"_sacred_missing_{i}"] = 1
                keys[field] = -1 if descending else 1
            keys.setdefault("_id", 1)
            pipeline += [{"$addFields": added}, {"$sort": keys}]
        if limit is not None:
            pipeline.append({"$limit": limit})
        records = []
        limit_time = translator.dead_limit
        for doc in self.runs.aggregate(pipeline):
            for key in [k for k in doc if k.startswith("_sacred_")]:
                doc.pop(key)
            record = self._checked(doc)
            if record is None:
                continue
            if record.get("status") == "RUNNING":
                last = record.get("heartbeat") or record.get("start_time")
                if isinstance(last, datetime.datetime) and last.replace(tzinfo=None) < limit_time:
                    record["status"] = "PROBABLY_DEAD"
            records.append(record)
        return records

    def get_record(self, run_id: Any) -> dict | None:
        doc = self.runs.find_one({"_id": self._key(run_id), **_LIVE}, {"captured_out": 0})
        if doc is None:
            return None
        record = self._record(doc)
        problem = record_problem(record)
        if problem is not None:
            raise DamagedRunError(
                damage_message(self._location(), run_id, f"{self.runs.name} document", problem)
                + ". Repair the document or delete the run.",
                run_id=run_id,
            )
        return record

    def _key(self, run_id: Any) -> Any:
        if isinstance(run_id, str) and run_id.isdigit():
            if self.runs.find_one({"_id": int(run_id)}, {"_id": 1}) is not None:
                return int(run_id)
        return run_id

    def _doc(self, run_id: Any, projection: dict | None = None) -> dict:
        doc = self.runs.find_one({"_id": self._key(run_id)}, projection)
        if doc is None:
            raise StoreError(f"No run with id {run_id!r} in the MongoDB store.")
        return doc

    def captured_out(self, run_id: Any) -> str:
        return self._doc(run_id, {"captured_out": 1}).get("captured_out") or ""

    def metrics(self, run_id: Any, names: Iterable[str] | None = None) -> dict[str, dict]:
        query: dict = {"run_id": self._key(run_id)}
        if names is not None:
            query["name"] = {"$in": list(names)}
        return {
            doc["name"]: {
                "steps": doc.get("steps", []),
                "values": doc.get("values", []),
                "timestamps": doc.get("timestamps", []),
            }
            for doc in self.metrics_collection.find(query)
        }

    def metric_names(self, run_id: Any) -> list[str]:
        return sorted(self.metrics_collection.distinct("name", {"run_id": self._key(run_id)}))

    def _read_file(self, run_id: Any, file_id: Any, what: str, name: str) -> bytes:
        import gridfs

        try:
            return self.fs.get(file_id).read()
        except gridfs.errors.NoFile:
            raise StoreError(
                f"Run {run_id}: the {what} {name!r} is missing from GridFS (file id {file_id})."
            ) from None

    def read_artifact(self, run_id: Any, name: str) -> bytes:
        for artifact in self._doc(run_id, {"artifacts": 1}).get("artifacts") or []:
            if isinstance(artifact, dict) and artifact.get("name") == name:
                return self._read_file(run_id, artifact.get("file_id"), "artifact", name)
        raise StoreError(f"Run {run_id} has no artifact {name!r}.")

    def read_source(self, run_id: Any, name: str) -> bytes:
        doc = self._doc(run_id, {"experiment.sources": 1})
        for entry in (doc.get("experiment") or {}).get("sources") or []:
            if isinstance(entry, (list, tuple)) and len(entry) == 2 and entry[0] == name:
                if entry[1] is not None:
                    return self._read_file(run_id, entry[1], "source", name)
        raise StoreError(f"Run {run_id} has no stored source {name!r}.")

    def read_resource(self, run_id: Any, name: str) -> bytes:
        """Ours store [filename, file id]; the original release [filename, md5], with
        the file in GridFS under its filename (when the driver stored it)."""
        from bson import ObjectId

        doc = self._doc(run_id, {"resources": 1})
        for entry in doc.get("resources") or []:
            if not (isinstance(entry, (list, tuple)) and len(entry) == 2 and entry[0] == name):
                continue
            if isinstance(entry[1], ObjectId):
                return self._read_file(run_id, entry[1], "resource", name)
            found = self.fs.find_one({"filename": name, "md5": entry[1]})
            if found is None:
                found = self.fs.find_one({"filename": name, "metadata.md5": entry[1]})
            if found is not None:
                return found.read()
            raise StoreError(
                f"Run {run_id}: the content of the resource {name!r} (md5 {entry[1]}) is not "
                "in GridFS; the observer that wrote the run did not keep it."
            )
        raise StoreError(f"Run {run_id} has no stored resource {name!r}.")

    def delete(self, run_id: Any) -> None:
        doc = self._doc(run_id, {"artifacts": 1})
        for artifact in doc.get("artifacts") or []:
            if isinstance(artifact, dict) and artifact.get("file_id") is not None:
                self.fs.delete(artifact["file_id"])
        self.metrics_collection.delete_many({"run_id": doc["_id"]})
        self.runs.delete_one({"_id": doc["_id"]})

    # -- the trash and saved views ----------------------------------------------------

    def trash_run(self, run_id: Any, when: datetime.datetime) -> None:
        self.runs.update_one({"_id": self._key(run_id)}, {"$set": {TRASHED: when}})

    def _trashed_doc(self, run_id: Any, projection: dict | None = None) -> dict:
        doc = self.runs.find_one({"_id": self._key(run_id), TRASHED: {"$exists": True}}, projection)
        if doc is None:
            raise StoreError(f"No run with id {run_id!r} in the trash of the MongoDB store.")
        return doc

    def restore_run(self, run_id: Any) -> None:
        doc = self._trashed_doc(run_id, {"_id": 1})
        self.runs.update_one({"_id": doc["_id"]}, {"$unset": {TRASHED: ""}})

    def trashed_runs(self) -> list[dict]:
        found = []
        fields = {"_id": 1, "experiment.name": 1, TRASHED: 1}
        for doc in self.runs.find({TRASHED: {"$exists": True}}, fields):
            experiment = doc.get("experiment")
            when = doc.get(TRASHED)
            if isinstance(when, datetime.datetime) and when.tzinfo is not None:
                when = when.astimezone(datetime.timezone.utc).replace(tzinfo=None)
            found.append(
                {
                    "id": doc["_id"],
                    "experiment": experiment.get("name") if isinstance(experiment, dict) else None,
                    "trashed_at": when if isinstance(when, datetime.datetime) else None,
                }
            )
        return found

    def purge_trashed(self, run_id: Any) -> None:
        self._trashed_doc(run_id, {"_id": 1})
        self.delete(run_id)

    def saved_views(self) -> dict[str, dict]:
        return {
            doc["_id"]: doc["state"]
            for doc in self.views_collection.find({})
            if isinstance(doc.get("_id"), str) and isinstance(doc.get("state"), dict)
        }

    def write_view(self, name: str, state: dict | None) -> None:
        if state is None:
            self.views_collection.delete_one({"_id": name})
        else:
            self.views_collection.replace_one({"_id": name}, {"state": state}, upsert=True)

    def set_tags(self, run_id: Any, tags: list[str]) -> None:
        self.runs.update_one({"_id": self._key(run_id)}, {"$set": {"tags": list(tags)}})

    def set_note(self, run_id: Any, note: str) -> None:
        self.runs.update_one({"_id": self._key(run_id)}, {"$set": {"note": note}})

    def close(self) -> None:
        pass
