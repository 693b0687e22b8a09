"""The reader interface every backend implements, with a Python reference
implementation of querying for backends that cannot push queries down."""

from __future__ import annotations

import abc
import datetime
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sacred.exceptions import StoreError
from sacred.store.kinds import SORT_RANK, value_kind
from sacred.store.query import MISSING, RECORD_FIELDS, Node, compile_query, get_path

__all__ = [
    "StoreBackend",
    "NotSupportedError",
    "RECORD_FIELDS",
    "DamagedRunWarning",
    "DamagedRunError",
    "MissingExtraError",
    "effective_status",
    "sort_records",
    "record_problem",
    "report_damaged",
]


class DamagedRunWarning(UserWarning):
    """A run whose stored record cannot be read (a truncated or non-JSON file, a
    field of the wrong type). Listings leave it out and say so with this warning;
    ``run_id``, ``file`` and ``problem`` tell which run, which file and what is wrong."""

    def __init__(
        self, message: str, run_id: Any = None, file: str | None = None, problem: str = ""
    ) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.file = file
        self.problem = problem


class DamagedRunError(StoreError):
    """The run asked for exists but its record cannot be read (see DamagedRunWarning)."""

    def __init__(self, message: str, run_id: Any = None, file: str | None = None) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.file = file


class NotSupportedError(StoreError, NotImplementedError):
    """The store cannot do this (e.g. a read-only layout asked to delete a run)."""


class MissingExtraError(StoreError, ImportError):
    """An optional package that a part of sacred.store needs is not installed."""

    @classmethod
    def check(cls, module: str, feature: str, extra: str = "store") -> None:
        import importlib

        try:
            importlib.import_module(module)
        except ImportError:
            raise cls(
                f"{feature} needs {module}, which is not installed: pip install 'sacred[{extra}]'"
            ) from None


def damage_message(location: str, run_id: Any, file: str | None, problem: str) -> str:
    where = f"{file}: " if file else ""
    return f"run {run_id} in {location}: {where}{problem}"


def report_damaged(
    location: str,
    run_id: Any,
    file: str | None,
    problem: str,
    consequence: str | None = None,
) -> None:
    """Warn that (a part of) a run is left out because what is stored is damaged."""
    consequence = consequence or "the run is left out"
    message = f"{damage_message(location, run_id, file, problem)} ({consequence})"
    warnings.warn(
        DamagedRunWarning(message, run_id=run_id, file=file, problem=problem), stacklevel=3
    )


_DICT_FIELDS = ("experiment", "host", "meta", "config", "info")
_LIST_FIELDS = ("artifacts", "resources", "tags")
_TEXT_FIELDS = ("status", "command", "note", "captured_out")
TIME_FIELDS = ("start_time", "stop_time", "heartbeat", "queue_time")


def record_problem(record: Any) -> str | None:
    """What is wrong with the shape of a record (as a reader built it), or None.

    Times must be datetimes (or null): a reader parses the stored text first and
    leaves what does not parse as it was, which is reported here."""
    if not isinstance(record, dict):
        return f"the record is a {type(record).__name__}, not an object"
    for field in _DICT_FIELDS:
        value = record.get(field)
        if value is not None and not isinstance(value, dict):
            return f'"{field}" is {_described(value)}, expected an object'
    for field in _LIST_FIELDS:
        value = record.get(field)
        if value is not None and not isinstance(value, list):
            return f'"{field}" is {_described(value)}, expected a list'
    trace = record.get("fail_trace")
    # A list of lines as runs store it, or the string a caller's failed_event passed.
    if trace is not None and not isinstance(trace, (list, str)):
        return f'"fail_trace" is {_described(trace)}, expected a list or a string'
    for field in _TEXT_FIELDS:
        value = record.get(field)
        if value is not None and not isinstance(value, str):
            return f'"{field}" is {_described(value)}, expected a string'
    for field in TIME_FIELDS:
        value = record.get(field)
        if value is not None and not isinstance(value, datetime.datetime):
            return f'"{field}" is {_described(value)}, expected an ISO date and time'
    tags = record.get("tags") or []
    if not all(isinstance(tag, str) for tag in tags):
        return '"tags" holds something other than strings'
    return None


def _described(value: Any) -> str:
    """A stored value in an error message: its type and the start of its repr."""
    text = repr(value)
    if len(text) > 40:
        text = text[:39] + "…"
    return f"{type(value).__name__} {text}"


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
    # The order of kinds is sacred.store.kinds.SORT_RANK; missing and null values go
    # last (sort_records). Within a kind: numbers by value, times as ISO strings.
    kind = value_kind(value)
    if kind == "number":
        return (0, value, "")
    text = value.isoformat() if kind == "time" else value if kind == "string" else repr(value)
    return (SORT_RANK[kind], 0, text)


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


class StoreBackend(abc.ABC):
    """What a backend's reader provides. Records are dicts shaped like the Mongo run
    document (see RECORD_FIELDS), with datetimes as naive UTC datetimes.

    Two methods are required (:meth:`iter_records`, :meth:`metrics`); every other one
    has a working default built on them, or says explicitly that the store cannot do
    it (:class:`NotSupportedError`). The optional capabilities a database overrides
    to answer faster are declared here too, so callers never probe for them:
    :meth:`find_sorted` and :meth:`count_records` (None: "not pushed down, use the
    general path"), :meth:`prepare_sort` (nothing to prepare), :attr:`auto_index`
    (ignored where nothing is indexed) and :meth:`change_token` (a generic token from
    the newest times).
    """

    #: True when find_records evaluates queries in the database.
    pushes_down = False
    #: How many indexes on config/info/meta/result paths the reader may create the
    #: first time a sort or count asks for one (a board that may write sets it); 0
    #: creates none, and a backend without such indexes ignores it.
    auto_index = 0

    @abc.abstractmethod
    def iter_records(self) -> Iterator[dict]:
        """Every run's record (captured_out may be left out; see captured_out())."""

    def find_records(
        self,
        query: Node | None,
        sort: list[tuple[tuple[str, ...], bool]],
        limit: int | None,
        dead_after: float,
    ) -> list[dict]:
        """Records matching query, sorted, at most limit. This default loads every
        record and filters in Python; database backends push it down."""
        from sacred.store.metric_summary import attach_summaries

        now = _utc_now()
        matches = []
        accept = compile_query(query)
        records = list(self.iter_records())
        attach_summaries(self, records, query, sort)
        for record in records:
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

    @abc.abstractmethod
    def metrics(self, run_id: Any, names: Iterable[str] | None = None) -> dict[str, dict]:
        """{name: {"steps": [...], "values": [...], "timestamps": [...]}}, each in
        step order (sequences: lists or numpy arrays)."""

    def metric_summaries(
        self, run_ids: Sequence[Any], names: Sequence[str]
    ) -> dict[Any, dict[str, dict]]:
        """{run id: {name: {"last", "min", "max", "points"}}} of the runs' metrics among
        names (sacred.store.metric_summary); a run without any of them maps to {}.
        This default computes them from the points; a backend that stores them
        overrides it."""
        from sacred.store.metric_summary import summarize

        out: dict[Any, dict[str, dict]] = {}
        for run_id in run_ids:
            found = out[run_id] = {}
            for name, data in self.metrics(run_id, names).items():
                # With the steps: a reader may return the points as logged.
                summary = summarize(data["values"], data["steps"])
                if summary is not None:
                    found[name] = summary
        return out

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

    def resource_names(self, run_id: Any) -> list[str]:
        """The names (original file names) of the run's resources."""
        record = self.get_record(run_id) or {}
        return [r[0] for r in record.get("resources") or [] if isinstance(r, (list, tuple)) and r]

    def read_resource(self, run_id: Any, name: str) -> bytes:
        raise StoreError(f"Run {run_id}: this store does not keep the content of resources.")

    def artifact_names(self, run_id: Any) -> list[str]:
        record = self.get_record(run_id) or {}
        return [a if isinstance(a, str) else a[0] for a in record.get("artifacts") or []]

    def read_artifact(self, run_id: Any, name: str) -> bytes:
        raise self._unsupported("keep the content of artifacts")

    def source_names(self, run_id: Any) -> list[str]:
        record = self.get_record(run_id) or {}
        return [s[0] for s in (record.get("experiment") or {}).get("sources") or []]

    def read_source(self, run_id: Any, name: str) -> bytes:
        raise self._unsupported("keep the content of sources")

    def delete(self, run_id: Any) -> None:
        raise self._unsupported("delete runs")

    def set_tags(self, run_id: Any, tags: list[str]) -> None:
        raise self._unsupported("tag runs")

    def set_note(self, run_id: Any, note: str) -> None:
        raise self._unsupported("keep notes")

    # -- the trash and saved views (sacred.store.trash, sacred.store.views) ------------
    # A trashed run leaves iter_records, find_records, get_record and every other
    # query, but keeps its record, metrics and files until purge_trashed.

    def trash_run(self, run_id: Any, when: datetime.datetime) -> None:
        """Move the run to the trash, noting when (naive UTC)."""
        raise self._unsupported("keep a trash (delete it for good with purge=True)")

    def restore_run(self, run_id: Any) -> None:
        """Bring a trashed run back (StoreError when it is not in the trash)."""
        raise self._unsupported("keep a trash")

    def trashed_runs(self) -> list[dict]:
        """``[{"id", "experiment", "trashed_at"}]`` of the runs in the trash; a store
        without a trash has none."""
        return []

    def purge_trashed(self, run_id: Any) -> None:
        """Delete a trashed run for good, with its metrics and files."""
        raise self._unsupported("keep a trash")

    def saved_views(self) -> dict[str, dict]:
        """``{name: state}`` of the saved board views; a store without them has none."""
        return {}

    def write_view(self, name: str, state: dict | None) -> None:
        """Save the view under name (replacing one of that name); None deletes it."""
        raise self._unsupported("save views")

    def close(self) -> None:  # noqa: B027 - nothing to release by default
        """Release connections and files (nothing by default)."""

    # -- optional capabilities: a default that works, overridden to go faster -----------

    def find_sorted(
        self,
        query: Node | None,
        sort: list[tuple[tuple[str, ...], bool]],
        limit: int,
        dead_after: float,
        after: list | None = None,
    ) -> list[dict] | None:
        """Like find_records, starting after the sort values ``after`` (a decoded
        page cursor), walking an index; None when this backend cannot (the caller
        then filters with find_records)."""
        return None

    def count_records(self, query: Node | None, dead_after: float) -> int | None:
        """How many runs match query, counted by the database; None when this backend
        cannot (the caller counts what find_records returns)."""
        return None

    def prepare_sort(self, paths: list[tuple[str, ...]]) -> None:  # noqa: B027
        """Get ready to sort by these record paths (e.g. build indexes); nothing here."""

    def change_token(self) -> str:
        """A string that changes whenever a run is added, deleted, beats, ends or is
        edited (sacred.store.changes hashes it). This default reads the newest
        heartbeat, start, stop and queue times and the highest id with sorted,
        limited queries; backends answer it cheaper (a stat, one aggregate query)."""
        parts = []
        for field in ("heartbeat", "start_time", "stop_time", "queue_time", "_id"):
            found = self.find_records(None, [((field,), True)], 1, float("inf"))
            parts.append(repr(found[0].get(field)) if found else "-")
        parts.append(str(len(self.trashed_runs())))  # a run trashed or restored
        return "|".join(parts)

    def _unsupported(self, what: str) -> NotSupportedError:
        return NotSupportedError(f"This store ({type(self).__name__}) cannot {what}.")


def _utc_now() -> datetime.datetime:
    from sacred._time import utc_now

    return utc_now()
