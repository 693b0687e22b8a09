"""The reader interface every backend implements, with a Python reference
implementation of querying for backends that cannot push queries down."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from typing import Any

from sacred.store.query import MISSING, RECORD_FIELDS, Node, compile_query, get_path

__all__ = ["StoreBackend", "RECORD_FIELDS", "effective_status", "sort_records"]


def effective_status(record: dict, now: datetime.datetime, dead_after: float) -> str | None:
    """RUNNING with a heartbeat (or start) older than dead_after seconds reads as
    PROBABLY_DEAD."""
    status = record.get("status")
    if status != "RUNNING":
        return status
    last = record.get("heartbeat") or record.get("start_time")
    if isinstance(last, str):
        try:
            last = datetime.datetime.fromisoformat(last)
        except ValueError:
            return status
    if isinstance(last, datetime.datetime):
        if last.tzinfo is not None:
            last = last.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        if (now - last).total_seconds() > dead_after:
            return "PROBABLY_DEAD"
    return status


def _sort_key(value: Any) -> tuple:
    # Numbers, then strings (times as ISO strings), then booleans (false first), then
    # other values (lists, objects); missing and null values go last (sort_records).
    if isinstance(value, bool):
        return (2, 0, str(value))
    if isinstance(value, (int, float)):
        return (0, value, "")
    if isinstance(value, (datetime.datetime, datetime.date)):
        return (1, 0, value.isoformat())
    if isinstance(value, str):
        return (1, 0, value)
    return (3, 0, repr(value))


def sort_records(records: list[dict], sort: list[tuple[tuple[str, ...], bool]]) -> list[dict]:
    """Sort by several keys. Numbers come before strings and missing (or null) values
    go last whatever the direction; the direction orders values within their kind."""
    for path, descending in reversed(sort):
        present = [r for r in records if get_path(r, path) not in (MISSING, None)]
        absent = [r for r in records if get_path(r, path) in (MISSING, None)]
        keys = {id(r): _sort_key(get_path(r, path)) for r in present}
        present.sort(key=lambda r: keys[id(r)][1:], reverse=descending)
        present.sort(key=lambda r: keys[id(r)][0])
        records = present + absent
    return records


class StoreBackend:
    """What a backend's reader provides. Records are dicts shaped like the Mongo run
    document (see RECORD_FIELDS), with datetimes as naive UTC datetimes."""

    #: True when find_records evaluates queries in the database.
    pushes_down = False

    def iter_records(self) -> Iterator[dict]:
        """Every run's record (captured_out may be left out; see captured_out())."""
        raise NotImplementedError

    def find_records(
        self,
        query: Node | None,
        sort: list[tuple[tuple[str, ...], bool]],
        limit: int | None,
        dead_after: float,
    ) -> list[dict]:
        """Records matching query, sorted, at most limit. This default loads every
        record and filters in Python; database backends push it down."""
        now = _utc_now()
        matches = []
        accept = compile_query(query)
        for record in self.iter_records():
            record["status"] = effective_status(record, now, dead_after)
            if accept(record):
                matches.append(record)
        matches = sort_records(matches, sort) if sort else matches
        return matches[:limit] if limit is not None else matches

    def get_record(self, run_id: Any) -> dict | None:
        for record in self.iter_records():
            if str(record.get("_id")) == str(run_id):
                return record
        return None

    def captured_out(self, run_id: Any) -> str:
        record = self.get_record(run_id) or {}
        return record.get("captured_out") or ""

    def metrics(self, run_id: Any, names: Iterable[str] | None = None) -> dict[str, dict]:
        """{name: {"steps": [...], "values": [...], "timestamps": [...]}}, each in
        step order (sequences: lists or numpy arrays)."""
        raise NotImplementedError

    def metric_names(self, run_id: Any) -> list[str]:
        """The names of the run's metrics (readers override this with a cheap query)."""
        return sorted(self.metrics(run_id))

    def metric_values(self, run_id: Any, name: str) -> dict | None:
        """{"steps", "values"} of one metric, without timestamps (the cost of loading
        a million points is mostly in them); None when the run has no such metric."""
        return self.metrics(run_id, [name]).get(name)

    def metric(self, run_id: Any, name: str) -> dict | None:
        """{"steps", "values", "timestamps"} of one metric, read together so that they
        match even while the run is still logging; None when there is no such metric."""
        return self.metrics(run_id, [name]).get(name)

    def artifact_names(self, run_id: Any) -> list[str]:
        record = self.get_record(run_id) or {}
        return [a if isinstance(a, str) else a[0] for a in record.get("artifacts") or []]

    def read_artifact(self, run_id: Any, name: str) -> bytes:
        raise NotImplementedError

    def source_names(self, run_id: Any) -> list[str]:
        record = self.get_record(run_id) or {}
        return [s[0] for s in (record.get("experiment") or {}).get("sources") or []]

    def read_source(self, run_id: Any, name: str) -> bytes:
        raise NotImplementedError

    def delete(self, run_id: Any) -> None:
        raise NotImplementedError

    def set_tags(self, run_id: Any, tags: list[str]) -> None:
        raise NotImplementedError

    def set_note(self, run_id: Any, note: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


def _utc_now() -> datetime.datetime:
    from sacred._time import utc_now

    return utc_now()
