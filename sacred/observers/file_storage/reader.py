"""Reading a file-storage directory for ``sacred.store`` (layout: see observer.py).

Tags and the note of a run live in ``<run>/annotations.json`` (``{"tags": [...],
"note": "..."}``), a file the observer never writes, so editing a running run is safe.

Queries are evaluated in Python (sacred.store.query.compile_query). Reading the
three JSON files of 10,000 runs for every query would take seconds, so the records
are cached in ``<basedir>/.store_index.json``::

    {"version": 4,
     "shared": {md5: JSON text},   # experiment/host/meta values, stored once
     "runs": {dir name: {"mtime": ns | null,
                         "fields": {field: value | {"json": JSON text}},
                         "refs": {field: md5}}}}     # plain values as they are,
                                                     # dicts and lists as text

A query parses only the fields it (and its sort keys, and the effective status)
uses, for every run; the runs it returns are then parsed in full.

An entry is trusted while its run directory's modification time is unchanged: the
observer writes every record file atomically (a temporary file renamed over the old
one), and creating or renaming a file changes the directory's mtime. Appending to
cout.txt or the metrics journal does not, and neither is part of the record. An
entry whose directory changed less than two seconds before the index was written
is saved with ``mtime: null`` and read again next time, because file times are
only as fine as the kernel's clock tick (the "racy git" problem). A process keeps
the index it loaded or wrote in memory while the file is unchanged. Files edited in
place (not replaced) by hand are not noticed: delete the index or open the store
with ``use_index=False``.
"""

from __future__ import annotations

import datetime
import gc
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from typing import Any

from sacred.exceptions import StoreError
from sacred.observers.file_storage.observer import METRICS_JOURNAL, atomic_write
from sacred.store.base import StoreBackend

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover
    _orjson = None

__all__ = ["FileStoreReader"]

ANNOTATIONS = "annotations.json"
INDEX = ".store_index.json"
INDEX_VERSION = 4
RACY_NS = 2_000_000_000  # entries younger than this when saved are re-read
_TIME_FIELDS = ("start_time", "stop_time", "heartbeat", "queue_time")
_SHARED_FIELDS = ("experiment", "host", "meta")


def _load_json(path: str) -> Any:
    with open(path, "rb") as f:
        data = f.read()
    if _orjson is not None:
        try:
            return _orjson.loads(data)
        except _orjson.JSONDecodeError:
            pass  # NaN/Infinity tokens: the standard library reads them
    return json.loads(data)


def _dumps(data: Any) -> bytes:
    if _orjson is not None:
        try:
            return _orjson.dumps(data, option=_orjson.OPT_SORT_KEYS)
        except TypeError:
            pass
    return json.dumps(data, sort_keys=True).encode("utf-8")


class _Absent:
    pass


_ABSENT = _Absent()


def _text(value: Any) -> str:
    """JSON text of a record value; the standard library keeps NaN and Infinity
    (orjson would write them as null)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _parse_text(text: str) -> Any:
    if _orjson is not None:
        try:
            return _orjson.loads(text)
        except _orjson.JSONDecodeError:
            pass
    return json.loads(text)


_SHARED_VALUES: dict[str, Any] = {}  # shared key (md5 of the text) -> parsed value


def _parse_shared(shared: dict, key: str) -> Any:
    """A shared value, parsed once for all the runs that refer to it (keys are
    digests of the text, so a parsed value never goes stale)."""
    value = _SHARED_VALUES.get(key)
    if value is None:
        if len(_SHARED_VALUES) > 10_000:
            _SHARED_VALUES.clear()
        value = _SHARED_VALUES[key] = _parse_text(shared[key])
    return value


def _parse_time(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return datetime.datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def _is_run_name(name: str) -> bool:
    return (
        bool(name)
        and not name.startswith((".", "_"))
        and os.sep not in name
        and (os.altsep is None or os.altsep not in name)
    )


def _run_id(name: str) -> Any:
    return int(name) if name.isdigit() else name


def _order(name: str) -> tuple:
    return (not name.isdigit(), int(name) if name.isdigit() else 0, name)


class FileStoreReader(StoreBackend):
    def __init__(self, basedir: str, use_index: bool = True) -> None:
        self.basedir = os.path.abspath(basedir)
        if not os.path.isdir(self.basedir):
            raise StoreError(f"No file store at {self.basedir!r} (not a directory).")
        self.use_index = use_index
        self._metrics_cache: tuple | None = None
        self._index: dict | None = None  # {"shared": ..., "runs": ...} as loaded/written
        self._index_stat: tuple | None = None

    # -- records ------------------------------------------------------------------------

    def _read_record(self, name: str) -> dict | None:
        run_dir = os.path.join(self.basedir, name)
        try:
            record = _load_json(os.path.join(run_dir, "run.json"))
        except (FileNotFoundError, NotADirectoryError, ValueError):
            return None
        if not isinstance(record, dict):
            return None
        for key, filename in (("config", "config.json"), ("info", "info.json")):
            try:
                record[key] = _load_json(os.path.join(run_dir, filename))
            except (FileNotFoundError, ValueError):
                record.setdefault(key, {})
        try:
            annotations = _load_json(os.path.join(run_dir, ANNOTATIONS))
        except (FileNotFoundError, ValueError):
            annotations = {}
        record["tags"] = annotations.get("tags", [])
        record["note"] = annotations.get("note")
        record["_id"] = _run_id(name)
        record.pop("captured_out", None)  # read on demand from cout.txt
        return record

    def _finish(self, record: dict) -> dict:
        record = dict(record)
        for key in _TIME_FIELDS:
            if key in record:
                record[key] = _parse_time(record[key])
        return record

    def _index_path(self) -> str:
        return os.path.join(self.basedir, INDEX)

    def _stat_index(self) -> tuple | None:
        try:
            stat = os.stat(self._index_path())
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size, stat.st_ino)

    def _load_index(self) -> dict:
        """The index: the one in memory while the file is unchanged, else the file."""
        stat = self._stat_index()
        if self._index is not None and stat == self._index_stat:
            return self._index
        try:
            index = _load_json(self._index_path())
            if not isinstance(index, dict) or index.get("version") != INDEX_VERSION:
                index = {}
        except (OSError, ValueError):
            index = {}
        return {"shared": index.get("shared") or {}, "runs": index.get("runs") or {}}

    def _run_dirs(self) -> list[tuple[str, int]]:
        """(name, directory mtime in ns) of every run directory, in id order."""
        found = []
        with os.scandir(self.basedir) as entries:
            for entry in entries:
                if entry.name.startswith(("_", ".")):
                    continue
                try:
                    if not entry.is_dir():
                        continue
                    found.append((entry.name, entry.stat().st_mtime_ns))
                except OSError:
                    continue
        found.sort(key=lambda item: _order(item[0]))
        return found

    def _entries(self) -> tuple[list[tuple[str, dict]], dict]:
        """The index brought up to date: ([(dir name, entry)], shared texts). An entry
        is {"mtime", "fields": {field: JSON text}, "refs": {field: shared key}}; the
        fields are parsed only when a query needs them (see _value)."""
        index = self._load_index()
        shared, entries = index["shared"], index["runs"]
        fresh: dict[str, dict] = {}
        changed = False
        now = time.time_ns()
        for name, mtime in self._run_dirs():
            entry = entries.get(name)
            if entry is None or entry.get("mtime") != mtime:
                record = self._read_record(name)
                if record is None:
                    continue
                record.pop("_id")
                fields, refs = {}, {}
                for field, value in record.items():
                    if field in _SHARED_FIELDS:
                        text = _text(value)
                        key = hashlib.md5(text.encode("utf-8")).hexdigest()
                        shared.setdefault(key, text)
                        refs[field] = key
                    elif isinstance(value, (dict, list)):
                        fields[field] = {"json": _text(value)}
                    else:
                        fields[field] = value
                entry = {"mtime": mtime, "fields": fields, "refs": refs}
                changed = True
            if entry["mtime"] is not None and now - entry["mtime"] < RACY_NS:
                entry = dict(entry, mtime=None)  # too recent to trust next time
                changed = True
            fresh[name] = entry
        index = {"shared": shared, "runs": fresh}
        if changed or len(fresh) != len(entries):
            used = {key for entry in fresh.values() for key in entry["refs"].values()}
            index["shared"] = {key: text for key, text in shared.items() if key in used}
            saved = {
                "version": INDEX_VERSION,
                "shared": index["shared"],
                "runs": {
                    name: {k: entry[k] for k in ("mtime", "fields", "refs")}
                    for name, entry in fresh.items()
                },
            }
            try:
                atomic_write(self._index_path(), _dumps(saved))
                self._index, self._index_stat = index, self._stat_index()
            except (OSError, TypeError, ValueError):
                self._index = None  # a read-only store or an odd value: only a cache
        else:
            self._index, self._index_stat = index, self._stat_index()
        return list(fresh.items()), index["shared"]

    @staticmethod
    def _value(entry: dict, field: str, shared: dict) -> Any:
        """One field of an entry, parsed once (kept with the entry in memory)."""
        parsed = entry.setdefault("_parsed", {})
        if field not in parsed:
            if field in entry["fields"]:
                value = entry["fields"][field]
                parsed[field] = _parse_text(value["json"]) if isinstance(value, dict) else value
            elif field in entry["refs"]:
                parsed[field] = _parse_shared(shared, entry["refs"][field])
            else:
                parsed[field] = _ABSENT
        return parsed[field]

    def _partial(self, name: str, entry: dict, shared: dict, fields: set, times: set) -> dict:
        """A record holding only fields, with the time fields among times parsed."""
        record = {"_id": _run_id(name)}
        for field in fields:
            value = self._value(entry, field, shared)
            if value is not _ABSENT:
                record[field] = _parse_time(value) if field in times else value
        return record

    def _full(self, name: str, entry: dict, shared: dict) -> dict:
        """The whole record, parsed afresh from the index's text: the caller gets
        objects of its own (faster than copying the parsed ones)."""
        record = {"_id": _run_id(name)}
        for field, value in entry["fields"].items():
            if isinstance(value, dict):
                value = _parse_text(value["json"])
            record[field] = _parse_time(value) if field in _TIME_FIELDS else value
        for field, key in entry["refs"].items():
            record[field] = _parse_text(shared[key])
        return record

    def iter_records(self) -> Iterator[dict]:
        if not self.use_index:
            for name, _ in self._run_dirs():
                record = self._read_record(name)
                if record is not None:
                    yield self._finish(record)
            return
        enabled = gc.isenabled()
        gc.disable()  # see find_records
        try:
            entries, shared = self._entries()
            records = [self._full(name, entry, shared) for name, entry in entries]
        finally:
            if enabled:
                gc.enable()
        yield from records

    def find_records(self, query, sort, limit, dead_after):
        """Filters and sorts records holding only the fields the query and the sort
        keys use (and those the effective status needs); the runs handed out are
        then read in full from the index."""
        if not self.use_index:
            return super().find_records(query, sort, limit, dead_after)
        # Tens of thousands of small objects are created and dropped here; the cyclic
        # garbage collector would scan the whole index again and again (40% of the
        # time). Nothing here makes reference cycles.
        enabled = gc.isenabled()
        gc.disable()
        try:
            return self._find(query, sort, limit, dead_after)
        finally:
            if enabled:
                gc.enable()

    def _find(self, query, sort, limit, dead_after):
        from sacred.store.base import _utc_now, effective_status, sort_records
        from sacred.store.query import compile_query, query_paths

        entries, shared = self._entries()
        used = {path[0] for path in query_paths(query)} | {path[0] for path, _ in sort}
        needed = (used | {"status", "heartbeat", "start_time"}) - {"_id"}
        times = used & set(_TIME_FIELDS)  # effective_status parses its own
        accept = compile_query(query)
        now = _utc_now()
        matches = []
        for position, (name, entry) in enumerate(entries):
            record = self._partial(name, entry, shared, needed, times)
            record["status"] = effective_status(record, now, dead_after)
            if accept(record):
                record["_position"] = position
                matches.append(record)
        if sort:
            matches = sort_records(matches, sort)
        if limit is not None:
            matches = matches[:limit]
        found = []
        for match in matches:
            name, entry = entries[match["_position"]]
            record = self._full(name, entry, shared)
            record["status"] = match["status"]
            found.append(record)
        return found

    def get_record(self, run_id: Any) -> dict | None:
        if not _is_run_name(str(run_id)):
            return None
        record = self._read_record(str(run_id))
        return self._finish(record) if record is not None else None

    def captured_out(self, run_id: Any) -> str:
        try:
            with open(
                os.path.join(self._dir(run_id), "cout.txt"), encoding="utf-8", errors="replace"
            ) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    # -- metrics and files --------------------------------------------------------------

    def _metrics_signature(self, run_dir: str) -> tuple:
        signature = []
        for name in ("metrics.json", METRICS_JOURNAL):
            try:
                stat = os.stat(os.path.join(run_dir, name))
                signature.append((stat.st_mtime_ns, stat.st_size))
            except FileNotFoundError:
                signature.append(None)
        return tuple(signature)

    def metrics(self, run_id: Any, names: Iterable[str] | None = None) -> dict[str, dict]:
        """metrics.json merged with the journal: per metric, whichever holds more points
        (see observer.py). The last run's parsed metrics are kept while its files do
        not change, so reading values, then timestamps, parses the file once."""
        run_dir = self._dir(run_id)
        signature = (run_dir, self._metrics_signature(run_dir))
        if self._metrics_cache is not None and self._metrics_cache[0] == signature:
            merged = self._metrics_cache[1]
        else:
            merged = self._read_metrics(run_dir)
            self._metrics_cache = (signature, merged)
        if names is not None:
            wanted = set(names)
            return {k: v for k, v in merged.items() if k in wanted}
        return dict(merged)

    def _read_metrics(self, run_dir: str) -> dict[str, dict]:
        try:
            complete = _load_json(os.path.join(run_dir, "metrics.json"))
        except (FileNotFoundError, ValueError):
            complete = {}
        journal: dict[str, dict] = {}
        try:
            with open(os.path.join(run_dir, METRICS_JOURNAL), "rb") as f:
                for line in f:
                    try:
                        batch = _load_json_bytes(line)
                    except ValueError:
                        break  # a line cut off by a kill: everything before it counts
                    for name, series in batch.items():
                        target = journal.setdefault(
                            name, {"steps": [], "values": [], "timestamps": []}
                        )
                        for key in ("steps", "values", "timestamps"):
                            target[key].extend(series[key])
        except FileNotFoundError:
            pass
        merged = {}
        for name in set(complete) | set(journal):
            a, b = complete.get(name), journal.get(name)
            merged[name] = (
                a if b is None or (a is not None and len(a["steps"]) >= len(b["steps"])) else b
            )
        return merged

    def read_artifact(self, run_id: Any, name: str) -> bytes:
        run_dir = self._dir(run_id)
        path = os.path.normpath(os.path.join(run_dir, name))
        if os.path.dirname(path) != run_dir or not os.path.isfile(path):
            raise StoreError(f"Run {run_id} has no artifact {name!r}.")
        with open(path, "rb") as f:
            return f.read()

    def read_source(self, run_id: Any, name: str) -> bytes:
        record = self.get_record(run_id) or {}
        for source_name, stored in (record.get("experiment") or {}).get("sources", []):
            if source_name == name and stored:
                with open(os.path.join(self.basedir, stored), "rb") as f:
                    return f.read()
        raise StoreError(f"Run {run_id} has no stored source {name!r}.")

    # -- edits --------------------------------------------------------------------------

    def _dir(self, run_id: Any) -> str:
        """The run's directory; a run id is one plain name inside basedir, never a
        path (``sacred delete STORE ../x`` must not reach outside the store)."""
        path = os.path.join(self.basedir, str(run_id))
        if not _is_run_name(str(run_id)) or not os.path.isfile(os.path.join(path, "run.json")):
            raise StoreError(f"No run with id {run_id!r} in {self.basedir}.")
        return path

    def delete(self, run_id: Any) -> None:
        shutil.rmtree(self._dir(run_id))

    def _annotate(self, run_id: Any, **changes: Any) -> None:
        path = os.path.join(self._dir(run_id), ANNOTATIONS)
        try:
            annotations = _load_json(path)
        except (FileNotFoundError, ValueError):
            annotations = {"tags": [], "note": None}
        annotations.update(changes)
        atomic_write(path, json.dumps(annotations, indent=2))

    def set_tags(self, run_id: Any, tags: list[str]) -> None:
        self._annotate(run_id, tags=list(tags))

    def set_note(self, run_id: Any, note: str) -> None:
        self._annotate(run_id, note=note)


def _load_json_bytes(data: bytes) -> Any:
    if _orjson is not None:
        try:
            return _orjson.loads(data)
        except _orjson.JSONDecodeError:
            pass
    return json.loads(data)
