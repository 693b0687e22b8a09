"""Reading a TinyDbObserver directory for ``sacred.store`` (queries run in Python)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sacred.exceptions import StoreError
from sacred.observers.tinydb_hashfs.observer import METRICS_TABLE, RUNS_TABLE, open_tinydb
from sacred.store.base import StoreBackend

__all__ = ["TinyDbStoreReader"]


def _without_handles(records: list) -> list:
    out = []
    for record in records or []:
        handle = record[-1]
        if hasattr(handle, "close"):
            handle.close()
        out.append([r for r in record if not hasattr(r, "read")])
    return out


class TinyDbStoreReader(StoreBackend):
    def __init__(self, basedir: str) -> None:
        import os

        if not os.path.isfile(os.path.join(basedir, "metadata.json")):
            raise StoreError(f"No TinyDB store at {basedir!r} (no metadata.json).")
        self.db, self.fs = open_tinydb(basedir)
        self.runs = self.db.table(RUNS_TABLE)
        self.metrics_table = self.db.table(METRICS_TABLE)

    def _record(self, doc: dict) -> dict:
        record = dict(doc)
        experiment = dict(record.get("experiment") or {})
        experiment["sources"] = _without_handles(experiment.get("sources"))
        record["experiment"] = experiment
        record["resources"] = _without_handles(record.get("resources"))
        record["artifacts"] = [a[0] for a in _without_handles(record.get("artifacts"))]
        record.pop("format", None)
        record.pop("captured_out", None)
        record.setdefault("tags", [])
        record.setdefault("note", None)
        return record

    def _doc(self, run_id: Any) -> Any:
        from tinydb import Query

        doc = self.runs.get(Query()._id == str(run_id))
        if doc is None:
            raise StoreError(f"No run with id {run_id!r} in the TinyDB store.")
        return doc

    def iter_records(self) -> Iterator[dict]:
        for doc in self.runs.all():
            yield self._record(doc)

    def get_record(self, run_id: Any) -> dict | None:
        try:
            return self._record(self._doc(run_id))
        except StoreError:
            return None

    def captured_out(self, run_id: Any) -> str:
        return self._doc(run_id).get("captured_out") or ""

    def metrics(self, run_id: Any, names: Iterable[str] | None = None) -> dict[str, dict]:
        from tinydb import Query

        wanted = set(names) if names is not None else None
        return {
            doc["name"]: {
                "steps": doc["steps"],
                "values": doc["values"],
                "timestamps": doc["timestamps"],
            }
            for doc in self.metrics_table.search(Query().run_id == str(run_id))
            if wanted is None or doc["name"] in wanted
        }

    def _read(self, md5: str) -> bytes:
        address = self.fs.get(md5)
        if address is None:
            raise StoreError(f"File {md5} is missing from the hashfs.")
        with open(address.abspath, "rb") as f:
            return f.read()

    def read_artifact(self, run_id: Any, name: str) -> bytes:
        for artifact in _without_handles(self._doc(run_id).get("artifacts")):
            if artifact[0] == name:  # [name, source path, md5] (the original's layout)
                return self._read(artifact[-1])
        raise StoreError(f"Run {run_id} has no artifact {name!r}.")

    def read_source(self, run_id: Any, name: str) -> bytes:
        doc = self._doc(run_id)
        for source in _without_handles((doc.get("experiment") or {}).get("sources")):
            if source[0] == name:
                return self._read(source[1])
        raise StoreError(f"Run {run_id} has no stored source {name!r}.")

    def delete(self, run_id: Any) -> None:
        from tinydb import Query

        doc = self._doc(run_id)
        self.metrics_table.remove(Query().run_id == str(run_id))
        self.runs.remove(doc_ids=[doc.doc_id])

    def set_tags(self, run_id: Any, tags: list[str]) -> None:
        self.runs.update({"tags": list(tags)}, doc_ids=[self._doc(run_id).doc_id])

    def set_note(self, run_id: Any, note: str) -> None:
        self.runs.update({"note": note}, doc_ids=[self._doc(run_id).doc_id])

    def close(self) -> None:
        self.db.close()
