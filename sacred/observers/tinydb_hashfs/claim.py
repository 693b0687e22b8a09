"""Claiming queued runs in a TinyDB store.

TinyDB keeps the whole store in one JSON file (metadata.json) and every write of it
is a read-modify-write under the store's write lock (:func:`write_lock`). A claim is
one such write: under the lock, the best QUEUED run is read from the file's current
contents and moved to RUNNING with ``meta.claim`` (sacred.observers.claiming), so two
workers never get one run. A re-queue of a stale run, a release and every write of a
claimed run's observer (the fence, in :class:`TinyDbObserver`: each write checks the
claim in the read-modify-write that makes it) happen under the same lock, so a stale
run is re-queued once and an attempt whose claim was taken away writes nothing more.
"""

from __future__ import annotations

import datetime
import os
from typing import Any

from sacred._time import utc_now
from sacred.exceptions import StoreError
from sacred.observers.claiming import (
    RESUMABLE,
    ClaimedRun,
    Claimer,
    holds_claim,
    last_seen,
    lost_run,
    new_claim,
    not_resumable,
    resume_claim,
    sort_key,
    stale_to_requeue,
)
from sacred.observers.tinydb_hashfs.observer import (
    METRICS_TABLE,
    RUNS_TABLE,
    fresh_table,
    open_tinydb,
    store_dir_of,
    write_lock,
)

__all__ = ["TinyDbClaimer", "find_run"]

# The field that puts a run in the trash (sacred.observers.tinydb_hashfs.reader): a
# queued run there waits, as in the other stores.
_TRASHED = "trashed_at"


def find_run(table: Any, run_id: Any) -> Any:
    """The document of run ``run_id`` in ``table`` (None: there is none). Ids are
    compared as text: a command line gives them as text, the observer stores text."""
    from tinydb import Query

    return table.get(Query()._id == str(run_id))


class TinyDbClaimer(Claimer):
    """Args: the store's directory (the one holding metadata.json and hashfs/)."""

    def __init__(self, basedir: str | os.PathLike) -> None:
        self.basedir: str | None = os.path.abspath(os.fspath(basedir))
        self._db: Any = None
        self._fs: Any = None

    @classmethod
    def from_observer(cls, observer: Any) -> TinyDbClaimer:
        """A claimer on the store a TinyDbObserver writes to (its own database object
        when it was made with ``create_from``)."""
        if observer.basedir is not None:
            return cls(observer.basedir)
        self = cls.__new__(cls)
        self._db, self._fs = observer.db, observer.fs
        self.basedir = store_dir_of(self._db)
        return self

    # -- the store ---------------------------------------------------------------------

    def _exists(self) -> bool:
        """A store not made yet holds no run (as an empty file-store directory): a
        worker started before the first trial is queued waits for it."""
        if self._db is not None:
            return True
        assert self.basedir is not None  # only from_observer() leaves it out, with a db
        return os.path.isfile(os.path.join(self.basedir, "metadata.json"))

    def _opened(self) -> tuple[Any, Any]:
        if self._db is None:
            if not self._exists():
                raise StoreError(f"There is no TinyDB store in {self.basedir!r}.")
            assert self.basedir is not None
            self._db, self._fs = open_tinydb(self.basedir)
        return self._db, self._fs

    def _runs(self) -> Any:
        return fresh_table(self._opened()[0], RUNS_TABLE)

    def _locked(self) -> Any:
        return write_lock(self.basedir)

    def _doc(self, run_id: Any) -> Any:
        doc = find_run(self._runs(), run_id) if self._exists() else None
        if doc is None:
            raise StoreError(f"--resume {run_id}: there is no run {run_id} in {self.basedir}.")
        return doc

    # -- the claim ---------------------------------------------------------------------

    def claim(self, worker: str, experiment: str | None = None) -> ClaimedRun | None:
        if not self._exists():
            return None
        with self._locked():
            runs = self._runs()
            queued = [
                doc
                for doc in runs.all()
                if doc.get("status") == "QUEUED"
                and _TRASHED not in doc
                and (experiment is None or (doc.get("experiment") or {}).get("name") == experiment)
            ]
            if not queued:
                return None
            doc = min(
                queued,
                key=lambda d: sort_key(
                    (d.get("meta") or {}).get("priority"), (d.get("meta") or {}).get("queue_time")
                ),
            )
            meta = new_claim(doc.get("meta") or {}, worker)
            runs.update(
                {"status": "RUNNING", "heartbeat": utc_now(), "meta": meta}, doc_ids=[doc.doc_id]
            )
        return ClaimedRun(
            run_id=doc["_id"],
            token=meta["claim"]["token"],
            command=doc.get("command") or "",
            config=doc.get("config") or {},
            meta=meta,
            experiment=doc.get("experiment") or {},
            handle=doc["_id"],
        )

    def requeue_stale(
        self, stale_after: float, max_retries: int, only: Any = None
    ) -> list[tuple[Any, str]]:
        if not self._exists():
            return []
        limit = utc_now() - datetime.timedelta(seconds=stale_after)
        changed = []
        # One lock for the judgement and the writes: a beat cannot come in between,
        # and of two workers only the first re-queues a run.
        with self._locked():
            runs = self._runs()
            for doc in runs.all():
                if only is not None and str(doc.get("_id")) != str(only):
                    continue
                if not stale_to_requeue(doc, limit, only):
                    continue
                meta, fields = lost_run(doc.get("meta") or {}, last_seen(doc), max_retries)
                runs.update({"meta": meta, **fields}, doc_ids=[doc.doc_id])
                changed.append((doc["_id"], fields["status"]))
        return changed

    def release(self, run: ClaimedRun, status: str, reason: str) -> bool:
        with self._locked():
            runs = self._runs()
            doc = find_run(runs, run.run_id)
            if doc is None or doc.get("status") != "RUNNING":
                return False
            if not holds_claim(doc.get("meta"), run.token):
                return False
            fields = {"status": status, "stop_time": utc_now(), "fail_trace": [reason]}
            runs.update(fields, doc_ids=[doc.doc_id])
        return True

    # -- resuming ----------------------------------------------------------------------

    def stored_start(self, run_id: Any) -> tuple[str, dict, dict]:
        doc = self._doc(run_id)
        return doc.get("command") or "", doc.get("config") or {}, doc.get("meta") or {}

    def claim_for_resume(self, run_id: Any, worker: str) -> ClaimedRun:
        if not self._exists():
            raise StoreError(f"--resume {run_id}: there is no run {run_id} in {self.basedir}.")
        with self._locked():
            runs = self._runs()
            doc = find_run(runs, run_id)
            if doc is None:
                raise StoreError(f"--resume {run_id}: there is no run {run_id} in {self.basedir}.")
            status = doc.get("status")
            if status not in RESUMABLE:
                raise StoreError(not_resumable(run_id, status))
            meta = resume_claim(doc.get("meta") or {}, worker, status, doc.get("stop_time"))
            runs.update(
                {"status": "RUNNING", "heartbeat": utc_now(), "meta": meta}, doc_ids=[doc.doc_id]
            )
        return ClaimedRun(
            doc["_id"],
            meta["claim"]["token"],
            doc.get("command") or "",
            {},
            meta,
            handle=doc["_id"],
        )

    def stored_run(self, run_id: Any) -> ClaimedRun:
        doc = self._doc(run_id)
        meta, experiment = doc.get("meta") or {}, doc.get("experiment") or {}
        return ClaimedRun(
            doc["_id"], "", doc.get("command") or "", {}, meta, experiment, doc["_id"]
        )

    def resume_state(self, run_id: Any) -> tuple[str, dict[str, int]]:
        from tinydb import Query

        doc = find_run(self._runs(), run_id) or {}
        metrics = fresh_table(self._opened()[0], METRICS_TABLE)
        last = {
            m["name"]: m["steps"][-1]
            for m in metrics.search(Query().run_id == str(run_id))
            if m.get("steps")
        }
        return doc.get("captured_out") or "", last

    def sources(self, run: ClaimedRun) -> dict[str, bytes]:
        """The sources from the hashfs: ``experiment.sources`` holds ``[name, md5,
        file]`` and files are stored by their md5."""
        fs = self._opened()[1]
        out = {}
        for entry in run.experiment.get("sources") or []:
            name, md5 = entry[0], entry[1]
            key = getattr(entry[2], "hash", None) if len(entry) > 2 else None
            address = fs.get(key or md5)
            if address is None:
                continue
            with open(address.abspath, "rb") as f:
                out[name] = f.read()
        return out

    def observer_args(self) -> list[str]:
        if self.basedir is None:
            raise StoreError(
                "A TinyDB database that is not in a directory cannot be handed to a run."
            )
        return ["-t", self.basedir]
