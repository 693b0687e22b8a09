"""Reading a file-storage directory for ``sacred.store`` (layout: see observer.py).

Reads the layout this project's observer writes and the original release's (queued
runs' sources as ``{"py/tuple": [name, md5]}`` with copies in the run directory,
``meta.queue_time`` as a pickled datetime, resources stored relative to the
directory the experiment ran in).

Tags and the note of a run live in ``<run>/annotations.json`` (``{"tags": [...],
"note": "..."}``), a file the observer never writes, so editing a running run is safe.

Never reads or writes outside the store: run directories that are symbolic links
are not listed (and refused by id), record files are opened without following a
link, and artifacts, sources and resources must resolve inside the store.

Damaged runs (a record file that is not JSON, a field of the wrong type) are left
out of listings and reported with a DamagedRunWarning; ``get`` raises
DamagedRunError (see sacred.store.base).

Queries are evaluated in Python (sacred.store.query.compile_query). Reading the
three JSON files of 10,000 runs for every query would take seconds, so the records
are cached in an index that never lives in the store itself:
``$XDG_CACHE_HOME/sacred/store-index/<sha256 of the store's real path>.json``
(``~/.cache/...`` without XDG_CACHE_HOME; ``index_dir=`` chooses another
directory; when it cannot be written the index is kept in memory only)::

    {"version": 4,
     "store": real path of the store,
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

from sacred._time import parse_stored_time
from sacred.exceptions import StoreError
from sacred.observers.file_storage.files import METRICS_JOURNAL, atomic_write
from sacred.observers.file_storage.trash import FileTrash
from sacred.store.base import (
    DamagedRunError,
    StoreBackend,
    damage_message,
    record_problem,
    report_damaged,
)

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover
    _orjson = None  # type: ignore[assignment]  # checked before every use

__all__ = ["FileStoreReader"]

ANNOTATIONS = "annotations.json"
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


class _Damaged(Exception):
    """A run's record file that cannot be read: which file and what is wrong."""

    def __init__(self, file: str, problem: str) -> None:
        super().__init__(f"{file}: {problem}")
        self.file = file
        self.problem = problem


def _json_problem(exc: ValueError) -> str:
    return f"is not valid JSON ({exc})" if str(exc) else "is not valid JSON"


def _read_inside(path: str) -> bytes:
    """The content of path, refusing a symbolic link as the last component: a run's
    files must not lead the reader outside the store (its directories are checked
    by the caller)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as f:
        return f.read()


def _load_run_file(run_dir: str, filename: str, required: bool = False) -> Any:
    """A run's JSON file parsed; _ABSENT when it does not exist (and is not required:
    then None); _Damaged when it is not JSON or is a link."""
    path = os.path.join(run_dir, filename)
    try:
        data = _read_inside(path)
    except FileNotFoundError:
        return None if required else _ABSENT
    except NotADirectoryError:
        return None if required else _ABSENT
    except OSError as exc:
        if os.path.islink(path):
            raise _Damaged(
                filename,
                f"is a symbolic link (to {os.readlink(path)}); the store does not follow "
                "links in run directories",
            ) from None
        raise _Damaged(filename, f"cannot be read ({exc.strerror or exc})") from None
    try:
        return _load_json_bytes(data)
    except ValueError as exc:
        if not data.strip():
            raise _Damaged(filename, "is empty") from None
        raise _Damaged(filename, _json_problem(exc)) from None
    except RecursionError:
        raise _Damaged(filename, "is nested too deeply") from None


def _source_pair(entry: Any) -> Any:
    """A stored source as [name, stored path or md5]: the original release stored
    queued runs' sources as jsonpickle tuples {"py/tuple": [name, md5]}."""
    if isinstance(entry, dict) and isinstance(entry.get("py/tuple"), list):
        return list(entry["py/tuple"])
    return entry


def _queue_time(meta: Any) -> Any:
    """The queue time the original release stored in meta, as ISO text."""
    if not isinstance(meta, dict) or "queue_time" not in meta:
        return None
    value = meta["queue_time"]
    if isinstance(value, dict):
        from sacred.store.decode import decode_value

        value = decode_value(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value if isinstance(value, str) else None


def _cache_root() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "sacred", "store-index")


class FileStoreReader(FileTrash, StoreBackend):
    """Reads a FileStorageObserver's directory (ours or the original release's).

    ``use_index=False`` neither reads nor writes the index; ``index_dir=`` puts it
    somewhere else than ``$XDG_CACHE_HOME/sacred/store-index`` (``~/.cache/...``)."""

    def __init__(
        self, basedir: str, use_index: bool = True, index_dir: str | os.PathLike | None = None
    ) -> None:
        self.basedir = os.path.abspath(basedir)
        if not os.path.isdir(self.basedir):
            raise StoreError(f"No file store at {self.basedir!r} (not a directory).")
        # Every path is built from the real path, so a store reached through a link
        # works, and containment checks compare real paths.
        self.root = os.path.realpath(self.basedir)
        self.use_index = use_index
        key = hashlib.sha256(self.root.encode("utf-8", "surrogateescape")).hexdigest()[:32]
        directory = os.fspath(index_dir) if index_dir is not None else _cache_root()
        self.index_path = os.path.join(directory, f"{key}.json")
        self._metrics_cache: tuple | None = None
        self._index: dict | None = None  # {"shared": ..., "runs": ...} as loaded/written
        self._index_stat: tuple | None = None

    # -- records ------------------------------------------------------------------------

    def _read_record(self, name: str) -> dict | None:
        """The run's record (times as stored); None when the directory holds no
        run.json (not a run, or one being created); _Damaged when a file is broken."""
        run_dir = os.path.join(self.root, name)
        record = _load_run_file(run_dir, "run.json", required=True)
        if record is None:
            return None
        if not isinstance(record, dict):
            raise _Damaged("run.json", f"holds a {type(record).__name__}, not a JSON object")
        for key, filename in (("config", "config.json"), ("info", "info.json")):
            value = _load_run_file(run_dir, filename)
            if value is _ABSENT:
                record.setdefault(key, {})
            elif not isinstance(value, dict):
                raise _Damaged(filename, f"holds a {type(value).__name__}, not a JSON object")
            else:
                record[key] = value
        annotations = self._annotations(name, run_dir)
        record["tags"] = annotations.get("tags", [])
        record["note"] = annotations.get("note")
        experiment = record.get("experiment")
        if isinstance(experiment, dict) and isinstance(experiment.get("sources"), list):
            experiment["sources"] = [_source_pair(s) for s in experiment["sources"]]
        if "queue_time" not in record:
            queue_time = _queue_time(record.get("meta"))
            if queue_time is not None:
                record["queue_time"] = queue_time
        record["_id"] = _run_id(name)
        record.pop("captured_out", None)  # read on demand from cout.txt
        problem = record_problem(self._finish(record))
        if problem is not None:
            raise _Damaged("run.json", problem)
        return record

    def _annotations(self, name: str, run_dir: str) -> dict:
        """{"tags", "note"} of a run. Damaged annotations (our own file) are reported
        and ignored rather than hiding the run: saving tags or a note replaces them."""
        try:
            annotations = _load_run_file(run_dir, ANNOTATIONS)
        except _Damaged as damage:
            self._report(name, damage, "its tags and note are ignored")
            return {}
        if annotations is _ABSENT:
            return {}
        tags = annotations.get("tags", []) if isinstance(annotations, dict) else None
        note = annotations.get("note") if isinstance(annotations, dict) else None
        if (
            not isinstance(tags, list)
            or not all(isinstance(t, str) for t in tags)
            or not isinstance(note, (str, type(None)))
        ):
            self._report(
                name,
                _Damaged(ANNOTATIONS, 'is not {"tags": [strings], "note": string or null}'),
                "its tags and note are ignored",
            )
            return {}
        return {"tags": tags, "note": note}

    def _finish(self, record: dict) -> dict:
        record = dict(record)
        for key in _TIME_FIELDS:
            if key in record:
                record[key] = parse_stored_time(record[key])
        return record

    def _report(self, name: str, damage: _Damaged, consequence: str | None = None) -> None:
        report_damaged(self.basedir, _run_id(name), damage.file, damage.problem, consequence)

    def _index_path(self) -> str:
        return self.index_path

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
            if (
                not isinstance(index, dict)
                or index.get("version") != INDEX_VERSION
                or index.get("store") != self.root
            ):
                index = {}
        except (OSError, ValueError):
            index = {}
        return {"shared": index.get("shared") or {}, "runs": index.get("runs") or {}}

    def change_token(self) -> str:
        """Every record file is replaced atomically (a rename), which changes its run
        directory's mtime; one scandir pass lists them all."""
        return repr(self._run_dirs())

    def _run_dirs(self) -> list[tuple[str, int]]:
        """(name, directory mtime in ns) of every run directory, in id order. Links
        are left out: one into the store would list a run twice, one out of it would
        make the store read elsewhere (reported)."""
        found = []
        with os.scandir(self.root) as entries:
            for entry in entries:
                if entry.name.startswith(("_", ".")):
                    continue
                try:
                    if entry.is_symlink():
                        self._report_link(entry.name)
                        continue
                    if not entry.is_dir():
                        continue
                    found.append((entry.name, entry.stat().st_mtime_ns))
                except OSError:
                    continue
        found.sort(key=lambda item: _order(item[0]))
        return found

    def _report_link(self, name: str) -> None:
        path = os.path.join(self.root, name)
        target = os.path.realpath(path)
        if _inside(target, self.root) or not os.path.isdir(target):
            return  # another name for a run of this store (or not a run at all)
        report_damaged(
            self.basedir,
            _run_id(name),
            None,
            f"the run directory is a symbolic link to {target}, outside the store; "
            "the store does not read through it",
        )

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
                try:
                    record = self._read_record(name)
                except _Damaged as damage:
                    self._report(name, damage)  # read again (and reported) every time
                    continue
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
            self._save_index(index)
        else:
            self._index, self._index_stat = index, self._stat_index()
        return list(fresh.items()), index["shared"]

    def _save_index(self, index: dict) -> None:
        """Write the index into the cache directory. It is only a cache: when that
        cannot be written, the index is kept in memory for this Store."""
        saved = {
            "version": INDEX_VERSION,
            "store": self.root,
            "shared": index["shared"],
            "runs": {
                name: {k: entry[k] for k in ("mtime", "fields", "refs")}
                for name, entry in index["runs"].items()
            },
        }
        self._index, self._index_stat = index, None
        try:
            os.makedirs(os.path.dirname(self.index_path), exist_ok=True)
            atomic_write(self.index_path, _dumps(saved))
        except (OSError, TypeError, ValueError):
            return
        self._index_stat = self._stat_index()

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
                record[field] = parse_stored_time(value) if field in times else value
        return record

    def _full(self, name: str, entry: dict, shared: dict) -> dict:
        """The whole record, parsed afresh from the index's text: the caller gets
        objects of its own (faster than copying the parsed ones)."""
        record = {"_id": _run_id(name)}
        for field, value in entry["fields"].items():
            if isinstance(value, dict):
                value = _parse_text(value["json"])
            record[field] = parse_stored_time(value) if field in _TIME_FIELDS else value
        for field, key in entry["refs"].items():
            record[field] = _parse_text(shared[key])
        return record

    def iter_records(self) -> Iterator[dict]:
        if not self.use_index:
            for name, _ in self._run_dirs():
                try:
                    record = self._read_record(name)
                except _Damaged as damage:
                    self._report(name, damage)
                    continue
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
        from sacred.store.metric_summary import attach_summaries
        from sacred.store.query import compile_query, query_paths

        entries, shared = self._entries()
        used = {path[0] for path in query_paths(query)} | {path[0] for path, _ in sort}
        needed = (used | {"status", "heartbeat", "start_time"}) - {"_id", "metrics"}
        times = used & set(_TIME_FIELDS)  # effective_status parses its own
        accept = compile_query(query)
        now = _utc_now()
        partial = [self._partial(name, entry, shared, needed, times) for name, entry in entries]
        attach_summaries(self, partial, query, sort)
        matches = []
        for position, record in enumerate(partial):
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
            if "metrics" in match:
                record["metrics"] = match["metrics"]
            found.append(record)
        return found

    def get_record(self, run_id: Any) -> dict | None:
        name = str(run_id)
        if not _is_run_name(name) or not os.path.lexists(os.path.join(self.root, name)):
            return None
        run_dir = self._dir(run_id)
        try:
            record = self._read_record(os.path.basename(run_dir))
        except _Damaged as damage:
            raise DamagedRunError(
                damage_message(self.basedir, run_id, damage.file, damage.problem)
                + ". Repair or remove the file, or delete the run.",
                run_id=run_id,
                file=damage.file,
            ) from None
        return self._finish(record) if record is not None else None

    def captured_out(self, run_id: Any) -> str:
        try:
            data = _read_inside(os.path.join(self._dir(run_id), "cout.txt"))
        except FileNotFoundError:
            return ""
        except OSError as exc:
            self._report_file(run_id, "cout.txt", exc)
            return ""
        return data.decode("utf-8", errors="replace")

    def _report_file(self, run_id: Any, filename: str, exc: OSError) -> None:
        path = os.path.join(self.root, str(run_id), filename)
        problem = (
            "is a symbolic link; the store does not follow links in run directories"
            if os.path.islink(path)
            else f"cannot be read ({exc.strerror or exc})"
        )
        report_damaged(self.basedir, run_id, filename, problem, "it is left out")

    # -- metrics and files --------------------------------------------------------------

    def _metrics_signature(self, run_dir: str) -> tuple:
        signature: list[tuple[int, int] | None] = []
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
            merged = self._read_metrics(run_id, run_dir)
            self._metrics_cache = (signature, merged)
        if names is not None:
            wanted = set(names)
            return {k: v for k, v in merged.items() if k in wanted}
        return dict(merged)

    def _read_metrics(self, run_id: Any, run_dir: str) -> dict[str, dict]:
        try:
            complete = _load_run_file(run_dir, "metrics.json")
        except _Damaged as damage:
            report_damaged(
                self.basedir,
                run_id,
                damage.file,
                damage.problem,
                "its metrics are read from the journal only"
                if os.path.exists(os.path.join(run_dir, METRICS_JOURNAL))
                else "its metrics are left out",
            )
            complete = {}
        if complete is _ABSENT:
            complete = {}
        if not isinstance(complete, dict):
            report_damaged(
                self.basedir,
                run_id,
                "metrics.json",
                f"holds a {type(complete).__name__}, not a JSON object",
                "its metrics are left out",
            )
            complete = {}
        journal: dict[str, dict] = {}
        try:
            data = _read_inside(os.path.join(run_dir, METRICS_JOURNAL))
        except FileNotFoundError:
            data = b""
        except OSError as exc:
            self._report_file(run_id, METRICS_JOURNAL, exc)
            data = b""
        for line in data.splitlines():
            try:
                batch = _load_json_bytes(line)
            except ValueError:
                break  # a line cut off by a kill: everything before it counts
            if not isinstance(batch, dict):
                break
            for name, series in batch.items():
                if not _is_series(series):
                    continue
                target = journal.setdefault(name, {"steps": [], "values": [], "timestamps": []})
                for key in ("steps", "values", "timestamps"):
                    target[key].extend(series[key])
        merged: dict[str, Any] = {}
        for name in set(complete) | set(journal):
            a, b = complete.get(name), journal.get(name)
            if a is not None and not _is_series(a):
                report_damaged(
                    self.basedir,
                    run_id,
                    "metrics.json",
                    f"metric {name!r} is not {{steps, values, timestamps}} lists of one length",
                    "the metric is left out" if b is None else "it is read from the journal",
                )
                a = None
            if a is None and b is None:
                continue
            merged[name] = (
                a if b is None or (a is not None and len(a["steps"]) >= len(b["steps"])) else b
            )
        return merged

    def _inside_run(self, run_id: Any, relative: str, what: str) -> str:
        """The real path of a file named relative to the run directory; StoreError
        when it does not exist or leads out of the run directory."""
        run_dir = self._dir(run_id)
        return self._contained(run_id, run_dir, os.path.join(run_dir, relative), what, relative)

    def _contained(self, run_id: Any, root: str, path: str, what: str, name: str) -> str:
        real = os.path.realpath(path)
        if not _inside(real, root):
            raise StoreError(
                f"Run {run_id} in {self.basedir}: the {what} {name!r} is stored at {real}, "
                f"outside the store; the store does not read files outside {self.root}."
            )
        if not os.path.isfile(real):
            raise StoreError(
                f"Run {run_id} in {self.basedir}: the {what} {name!r} is missing (no file {real})."
            )
        return real

    def artifact_names(self, run_id: Any) -> list[str]:
        record = self.get_record(run_id) or {}
        return [a for a in record.get("artifacts") or [] if isinstance(a, str)]

    def read_artifact(self, run_id: Any, name: str) -> bytes:
        if name not in self.artifact_names(run_id):
            raise StoreError(f"Run {run_id} has no artifact {name!r}.")
        with open(self._inside_run(run_id, name, "artifact"), "rb") as f:
            return f.read()

    def source_names(self, run_id: Any) -> list[str]:
        return [name for name, _ in self._sources(run_id)]

    def _sources(self, run_id: Any) -> list[tuple[str, Any]]:
        record = self.get_record(run_id) or {}
        pairs = []
        for entry in (record.get("experiment") or {}).get("sources") or []:
            if isinstance(entry, (list, tuple)) and len(entry) == 2 and isinstance(entry[0], str):
                pairs.append((entry[0], entry[1]))
        return pairs

    def read_source(self, run_id: Any, name: str) -> bytes:
        for source_name, stored in self._sources(run_id):
            if source_name != name:
                continue
            if not isinstance(stored, str) or not stored:
                break  # listed, but the observer did not copy it
            if "/" in stored or "\\" in stored:  # "_sources/<stem>_<md5>.py"
                # written on Windows: "_sources\\<stem>_<md5>.py". Joined whole, so that
                # an absolute name stays absolute and is refused as outside the store.
                relative = stored.replace("\\", "/")
                path = self._contained(
                    run_id, self.root, os.path.join(self.root, relative), "source", name
                )
            else:  # the original's queued run: an md5, and a copy in the run's directory
                path = self._inside_run(run_id, os.path.basename(name), "source")
            with open(path, "rb") as f:
                return f.read()
        raise StoreError(f"Run {run_id} has no stored source {name!r}.")

    def read_resource(self, run_id: Any, name: str) -> bytes:
        record = self.get_record(run_id) or {}
        for entry in record.get("resources") or []:
            if not (isinstance(entry, (list, tuple)) and len(entry) == 2 and entry[0] == name):
                continue
            stored = entry[1]
            if not isinstance(stored, str):
                break
            # Ours: relative to the store; the original's: relative to the directory the
            # experiment ran in ("my_runs/_resources/<file>"), so the part from the
            # store's own "_resources" on is what counts.
            parts = stored.replace("\\", "/").split("/")
            if not os.path.isabs(stored) and "_resources" in parts[1:]:
                position = len(parts) - 1 - parts[::-1].index("_resources")
                candidate = os.path.join(self.root, *parts[position:])
                if os.path.lexists(candidate):
                    stored = os.path.join(*parts[position:])
            path = self._contained(
                run_id, self.root, os.path.join(self.root, stored), "resource", name
            )
            with open(path, "rb") as f:
                return f.read()
        raise StoreError(f"Run {run_id} has no stored resource {name!r}.")

    # -- edits --------------------------------------------------------------------------

    def _dir(self, run_id: Any) -> str:
        """The run's directory; a run id is one plain name inside basedir, never a
        path (``sacred delete STORE ../x`` must not reach outside the store), and
        never a link (reading or writing through it would leave the store)."""
        name = str(run_id)
        path = os.path.join(self.root, name)
        if not _is_run_name(name) or not os.path.lexists(os.path.join(path, "run.json")):
            raise StoreError(f"No run with id {run_id!r} in {self.basedir}.")
        if os.path.islink(path):
            target = os.path.realpath(path)
            where = "inside" if _inside(target, self.root) else "outside"
            raise StoreError(
                f"Run {run_id} in {self.basedir}: its directory is a symbolic link to "
                f"{target}, {where} the store; the store does not read or write through "
                "links. Use the run's own directory name."
            )
        return path

    def delete(self, run_id: Any) -> None:
        shutil.rmtree(self._dir(run_id))

    def _annotate(self, run_id: Any, **changes: Any) -> None:
        run_dir = self._dir(run_id)
        path = os.path.join(run_dir, ANNOTATIONS)
        try:
            annotations = _load_run_file(run_dir, ANNOTATIONS)
        except _Damaged:
            annotations = _ABSENT  # replaced by a good one below
        if not isinstance(annotations, dict):
            annotations = {"tags": [], "note": None}
        annotations.update(changes)
        # atomic_write renames a new file over the old name: a link there is replaced,
        # never written through.
        atomic_write(path, json.dumps(annotations, indent=2))

    def set_tags(self, run_id: Any, tags: list[str]) -> None:
        self._annotate(run_id, tags=list(tags))

    def set_note(self, run_id: Any, note: str) -> None:
        self._annotate(run_id, note=note)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _is_series(series: Any) -> bool:
    if not isinstance(series, dict):
        return False
    lists: list[Any] = [series.get(key) for key in ("steps", "values", "timestamps")]
    return all(isinstance(v, list) for v in lists) and len({len(v) for v in lists}) == 1


def _load_json_bytes(data: bytes) -> Any:
    if _orjson is not None:
        try:
            return _orjson.loads(data)
        except _orjson.JSONDecodeError:
            pass
    return json.loads(data)
