"""Claiming queued runs in MongoDB: one ``find_one_and_update`` on ``status: QUEUED``.

The server applies the filter, the sort (highest ``meta.priority``, then oldest
``meta.queue_time``) and the update to one document atomically, so two workers never get
the same run, without locks or transactions (also on a replica set or mongos).
"""

from __future__ import annotations

import datetime
from typing import Any

from sacred._time import utc_now
from sacred.exceptions import StoreError
from sacred.observers.claiming import (
    RESUMABLE,
    ClaimedRun,
    Claimer,
    last_seen,
    lost_run,
    new_claim,
    not_resumable,
    resume_claim,
    stale_to_requeue,
)

__all__ = [
    "MongoClaimer",
    "database_name",
    "observer_for",
    "location_of",
    "store_key",
    "reader_options",
]


def database_name(url: str) -> str:
    """The database a ``mongodb://host/db`` or ``mongomock://db`` URL names ('sacred'
    when it names none)."""
    scheme, _, rest = url.partition("://")
    if scheme == "mongomock":
        return rest.strip("/") or "sacred"
    return (rest.split("/", 1)[1].split("?", 1)[0] if "/" in rest else "") or "sacred"


def observer_for(url: str, client: Any = None, **options: Any) -> Any:
    """A MongoObserver writing to the database the URL names (through ``client`` when
    one is given: a mongomock store has no server to connect to)."""
    from sacred.observers.mongo.observer import MongoObserver

    if client is not None:
        return MongoObserver(db_name=database_name(url), client=client, **options)
    if url.startswith("mongomock://"):
        raise StoreError(
            f"The store {url!r} lives in a mongomock client: pass that client "
            "(client=mongomock.MongoClient()) along with the URL."
        )
    return MongoObserver.from_cli(url)


def location_of(observer: Any) -> str:
    """A URL naming the database a MongoObserver writes to: its server's address
    (``mongomock://`` for a mongomock client, which has none) and database. Linked
    runs record it (``meta.inputs``), so it must not change between releases."""
    database = observer.runs.database
    client = database.client
    if type(client).__module__.startswith("mongomock"):
        return f"mongomock://{database.name}"
    host, port = _server_address(client)
    return f"mongodb://{host}:{port}/{database.name}"


def _server_address(client: Any) -> tuple[str, int]:
    """The address ``client.address`` gives once connected (the server written to),
    without waiting for a server: ``address`` blocks for the server selection timeout
    when none is reachable, and callers only compare or record the location."""
    try:
        servers = client.topology_description.server_descriptions()
    except AttributeError:  # a client without pymongo's topology
        return getattr(client, "address", None) or ("localhost", 27017)
    writable = sorted(a for a, d in servers.items() if d.is_writable)
    known = writable or sorted(servers)
    return known[0] if known else ("localhost", 27017)


def reader_options(observer: Any) -> dict[str, Any]:
    """A reader of the observer's store reads its collection through its client."""
    return {"client": observer.runs.database.client, "collection": observer.runs.name}


def store_key(url: str) -> str:
    """Mongo stores are told apart by their database name."""
    return database_name(url)


class MongoClaimer(Claimer):
    """Args: a ``mongodb://host/db`` (or ``mongomock://db``) URL; ``client`` an existing
    client (e.g. a mongomock one shared with the observers in tests)."""

    def __init__(
        self, url: str, client: Any = None, collection: str = "runs", prefix: str = ""
    ) -> None:
        scheme = url.partition("://")[0]
        db_name = database_name(url)
        if scheme == "mongomock":
            if client is None:
                import mongomock

                client = mongomock.MongoClient()
        elif client is None:
            import pymongo

            client = pymongo.MongoClient(url, serverSelectionTimeoutMS=5000)
        import gridfs

        prefix = f"{prefix}_" if prefix else ""
        self.url = url
        self.client = client
        self.db = client[db_name or "sacred"]
        self.runs = self.db[prefix + collection]
        self.fs = gridfs.GridFS(self.db, collection=prefix + "fs" if prefix else "fs")
        self.metrics = self.db[prefix + "metrics"]

    @classmethod
    def from_observer(cls, observer: Any) -> MongoClaimer:
        """A claimer on the collections a MongoObserver writes to."""
        self = cls.__new__(cls)
        self.url = ""
        self.client = None
        self.runs, self.fs = observer.runs, observer.fs
        self.metrics = observer.metrics
        return self

    def stored_start(self, run_id: Any) -> tuple[str, dict, dict]:
        doc = self.runs.find_one({"_id": run_id}, {"command": 1, "config": 1, "meta": 1})
        if doc is None:
            raise StoreError(f"--resume {run_id}: there is no run {run_id} in the database.")
        return doc.get("command") or "", doc.get("config") or {}, doc.get("meta") or {}

    def claim_for_resume(self, run_id: Any, worker: str) -> ClaimedRun:
        import pymongo

        doc = self.runs.find_one({"_id": run_id}, {"status": 1, "meta": 1, "stop_time": 1})
        if doc is None:
            raise StoreError(f"--resume {run_id}: there is no run {run_id} in the database.")
        if doc.get("status") not in RESUMABLE:
            raise StoreError(not_resumable(run_id, doc.get("status")))
        meta = resume_claim(doc.get("meta") or {}, worker, doc["status"], doc.get("stop_time"))
        # compare-and-set on the status read: of two resumers only one matches
        doc = self.runs.find_one_and_update(
            {"_id": run_id, "status": doc["status"]},
            {"$set": {"status": "RUNNING", "heartbeat": utc_now(), "meta": meta}},
            return_document=pymongo.ReturnDocument.AFTER,
        )
        if doc is None:
            raise StoreError(f"--resume {run_id}: another process took the run up first.")
        return ClaimedRun(run_id, meta["claim"]["token"], doc.get("command") or "", {}, meta)

    def stored_run(self, run_id: Any) -> ClaimedRun:
        doc = self.runs.find_one({"_id": run_id}, {"command": 1, "meta": 1, "experiment": 1})
        if doc is None:
            raise StoreError(f"--resume {run_id}: there is no run {run_id} in the database.")
        meta, experiment = doc.get("meta") or {}, doc.get("experiment") or {}
        return ClaimedRun(run_id, "", doc.get("command") or "", {}, meta, experiment, run_id)

    def resume_state(self, run_id: Any) -> tuple[str, dict[str, int]]:
        doc = self.runs.find_one({"_id": run_id}, {"captured_out": 1}) or {}
        last = {}
        if self.metrics is not None:
            for m in self.metrics.find({"run_id": run_id}, {"name": 1, "steps": 1}):
                if m.get("steps"):
                    last[m["name"]] = m["steps"][-1]
        return doc.get("captured_out") or "", last

    def claim(self, worker: str, experiment: str | None = None) -> ClaimedRun | None:
        import pymongo

        # A queued run in the trash (sacred.store) waits there.
        query: dict = {"status": "QUEUED", "trashed_at": {"$exists": False}}
        if experiment is not None:
            query["experiment.name"] = experiment
        # The token and attempt are made up front; the update applies them atomically.
        meta = new_claim({}, worker)
        doc = self.runs.find_one_and_update(
            query,
            {
                "$set": {"status": "RUNNING", "heartbeat": utc_now(), "meta.claim": meta["claim"]},
                "$push": {"meta.attempts": meta["attempts"][-1]},
            },
            sort=[("meta.priority", -1), ("meta.queue_time", 1), ("_id", 1)],
            return_document=pymongo.ReturnDocument.AFTER,
        )
        if doc is None:
            return None
        # The attempt's number is known once the attempt is pushed: recorded next,
        # under the claim's own token (nothing else can have changed the claim).
        attempt = len((doc.get("meta") or {}).get("attempts") or [])
        self.runs.update_one(
            {"_id": doc["_id"], "meta.claim.token": meta["claim"]["token"]},
            {"$set": {"meta.claim.attempt": attempt}},
        )
        doc.setdefault("meta", {}).setdefault("claim", {})["attempt"] = attempt
        return ClaimedRun(
            run_id=doc["_id"],
            token=meta["claim"]["token"],
            command=doc.get("command") or "",
            config=doc.get("config") or {},
            meta=doc.get("meta") or {},
            experiment=doc.get("experiment") or {},
            handle=doc["_id"],
        )

    def requeue_stale(
        self, stale_after: float, max_retries: int, only: Any = None
    ) -> list[tuple[Any, str]]:
        limit = utc_now() - datetime.timedelta(seconds=stale_after)
        changed = []
        # <=: BSON keeps milliseconds, so a beat and "now" can be equal
        stale = {
            "status": "RUNNING",
            "$or": [
                {"heartbeat": {"$lte": limit}},
                {"heartbeat": None, "start_time": {"$lte": limit}},
            ],
        }
        if only is not None:
            stale["_id"] = only
        for doc in self.runs.find(stale, {"meta": 1, "heartbeat": 1, "start_time": 1}):
            last = doc.get("heartbeat") or doc.get("start_time")
            meta, fields = lost_run(doc.get("meta") or {}, last, max_retries)
            update: dict = {"meta": meta, **fields}
            # Conditional on the heartbeat we judged: a worker that beat meanwhile wins,
            # and of two workers re-queueing the same run only one matches.
            done = self.runs.update_one(
                {"_id": doc["_id"], "status": "RUNNING", "heartbeat": doc.get("heartbeat")},
                {"$set": update},
            )
            if done.modified_count:
                changed.append((doc["_id"], update["status"]))
        if only is not None:
            changed += self._requeue_claimed_queued(only, limit, max_retries)
        return changed

    def _requeue_claimed_queued(
        self, only: Any, limit: datetime.datetime, max_retries: int
    ) -> list[tuple[Any, str]]:
        """The one QUEUED run ``only`` if it holds a claim older than ``limit``
        (:func:`stale_to_requeue`), its claim taken away under the token it holds."""
        doc = self.runs.find_one({"_id": only, "status": "QUEUED"}, {"meta": 1})
        meta = (doc or {}).get("meta") or {}
        record = {"status": "QUEUED", "meta": meta}
        if doc is None or not stale_to_requeue(record, limit, only):
            return []
        meta, fields = lost_run(meta, last_seen(record), max_retries)
        update: dict = {"meta": meta, **fields}
        done = self.runs.update_one(
            {"_id": only, "status": "QUEUED", "meta.claim.token": doc["meta"]["claim"]["token"]},
            {"$set": update},
        )
        return [(only, update["status"])] if done.modified_count else []

    def release(self, run: ClaimedRun, status: str, reason: str) -> bool:
        done = self.runs.update_one(
            {"_id": run.handle, "status": "RUNNING", "meta.claim.token": run.token},
            {"$set": {"status": status, "stop_time": utc_now(), "fail_trace": [reason]}},
        )
        return bool(done.modified_count)

    def sources(self, run: ClaimedRun) -> dict[str, bytes]:
        out = {}
        for name, file_id in run.experiment.get("sources") or []:
            if file_id is not None:
                out[name] = self.fs.get(file_id).read()
        return out

    def observer_args(self) -> list[str]:
        return ["-m", self.url]

    def close(self) -> None:
        if self.url and hasattr(self.client, "close"):  # never the observer's client
            self.client.close()
