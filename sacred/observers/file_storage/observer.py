"""FileStorageObserver: one directory per run, plain JSON files.

Layout (``basedir`` = the directory given with ``-F``)::

    basedir/
      _sources/<stem>_<md5><ext>     one copy per distinct source content
      _resources/<stem>_<md5><ext>   one copy per distinct resource content
      <id>/                          1, 2, 3, ... (or the id given with --id)
        run.json                     the record (see below)
        config.json                  the configuration
        cout.txt                     captured output, appended at every heartbeat
        info.json                    the info dict (when not empty)
        metrics.json                 {name: {"steps", "values", "timestamps"}}
        .metrics.jsonl               append-only journal of metric batches (see below)
        <artifact name>              each artifact
        report.html / report.txt     rendered from a mako template, when one exists

run.json holds ``command, status, start_time, heartbeat, stop_time, result,
experiment, host, meta, resources, artifacts`` (and ``fail_trace`` for failed
runs, ``queue_time`` for queued ones); datetimes are ISO strings without time
zone, holding UTC. ``experiment.sources`` are ``[name, "_sources/<file>"]`` pairs,
``resources`` are ``[filename, "_resources/<file>"]`` pairs.

Safety: every JSON file is replaced atomically (written to a temporary file in
the same directory, then renamed), so a run killed at any instant leaves valid
files. Run ids are allocated with ``os.mkdir``, which is atomic, so concurrent
processes starting runs in one basedir get distinct ids.

Metrics: rewriting all of metrics.json at every heartbeat costs time proportional
to everything logged so far. Instead each heartbeat appends the measurements that
arrived since the previous one as one JSON line ``{name: {"steps", "values",
"timestamps"}}`` to ``.metrics.jsonl``, and metrics.json is rewritten only at
exponentially spaced heartbeats (1, 2, 4, 8, ... beats) while it holds at most
20,000 points (a rewrite then costs a few ms), and at the end of the run (the last
batch goes only there). While a run is going, or after it was killed,
metrics.json may lag behind but the journal holds every measurement up to the
last heartbeat; readers (``sacred.store``) use whichever of the two holds more
points per metric. A journal line holds only the points that are new at that beat;
the last line of a killed run may be cut off, and a line that does not parse ends
the journal. Details and decisions: docs/observers.md.

NaN and infinite values are written as the JSON tokens ``NaN``/``Infinity``
(Python's json reads them back).
"""

from __future__ import annotations

import datetime
import json
import logging
import math
import os
import shutil
import tempfile
from typing import Any

from sacred.dependencies import get_digest
from sacred.exceptions import ObserverError
from sacred.observers.base import RunObserver
from sacred.serializer import flatten

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - optional accelerator
    _orjson = None

__all__ = ["FileStorageObserver", "DEFAULT_FILE_STORAGE_PRIORITY"]

DEFAULT_FILE_STORAGE_PRIORITY = 20
METRICS_JOURNAL = ".metrics.jsonl"
# Above this many points a mid-run rewrite of metrics.json would make heartbeats slow
# (tens of ms); from then on it is written at the end only (the journal stays current).
MIDRUN_METRICS_REWRITE_LIMIT = 20_000


def _json_default(obj: Any) -> Any:
    if isinstance(obj, datetime.datetime):
        return obj.isoformat()
    return flatten(obj, datetimes="iso")


def _all_finite(metrics: dict) -> bool:
    try:
        return all(all(map(math.isfinite, series["values"])) for series in metrics.values())
    except TypeError:  # a value that is not a number
        return False


def _encode_json(metrics: dict) -> bytes:
    """Metrics as compact JSON, timestamps as ISO strings. orjson (when installed) is
    ~5x faster than json for the millions of numbers a run can log; it would write
    NaN as null, so batches with NaN or infinities go through json (NaN, Infinity)."""
    if _orjson is not None and _all_finite(metrics):
        try:
            return _orjson.dumps(metrics)
        except TypeError:  # a value orjson does not know (the run normalises numbers)
            pass
    return json.dumps(metrics, default=_json_default).encode("utf-8")


def _dumps(data: Any) -> str:
    return json.dumps(
        flatten(data, datetimes="iso"), indent=2, sort_keys=True, default=_json_default
    )


def atomic_write(path: str, text: str | bytes, durable: bool = False) -> None:
    """Write path so that readers see the old or the new content, never a mix.

    A killed process leaves the old or the new file (the page cache survives it);
    ``durable=True`` also fsyncs before the rename, so that the new content survives
    a power loss too. That costs milliseconds on real disks, so only the records
    written at the start and end of a run ask for it, not every heartbeat.
    """
    directory = os.path.dirname(path) or "."
    mode = "wb" if isinstance(text, bytes) else "w"
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, mode, **({} if mode == "wb" else {"encoding": "utf-8"})) as f:
            f.write(text)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# Files the observer writes into a run directory: an artifact may not take their names.
# annotations.json holds the tags and note set through sacred.store (see reader.py).
RESERVED_NAMES = frozenset(
    {
        "run.json",
        "config.json",
        "cout.txt",
        "info.json",
        "metrics.json",
        "annotations.json",
        METRICS_JOURNAL,
    }
)


def _check_run_id(_id: Any) -> str:
    """The directory name of a given run id; refuse names that would escape basedir or
    that the store reader skips (``_sources``, hidden files)."""
    name = str(_id)
    if (
        not name
        or name in (".", "..")
        or name.startswith(("_", "."))
        or os.sep in name
        or (os.altsep and os.altsep in name)
    ):
        raise ObserverError(
            f"FileStorageObserver cannot use the run id {name!r} as a directory name: "
            "ids must not be empty, contain path separators or start with '_' or '.'. "
            "Choose another --id."
        )
    return name


def _check_artifact_name(name: str) -> None:
    parts = name.replace("\\", "/").split("/")
    if os.path.isabs(name) or ".." in parts or not name:
        raise ObserverError(
            f"FileStorageObserver cannot store the artifact {name!r}: its name must be a "
            "relative path inside the run directory (no '..', not absolute). Pass another "
            "name: add_artifact(filename, name='...')."
        )
    if name in RESERVED_NAMES or name.startswith(".tmp-") or name.startswith("report."):
        raise ObserverError(
            f"FileStorageObserver cannot store the artifact {name!r}: that name is taken "
            "by the run's own record files (run.json, config.json, cout.txt, info.json, "
            "metrics.json, annotations.json, report.*). Pass another name: "
            "add_artifact(filename, name='...')."
        )


class FileStorageObserver(RunObserver):
    """Stores each run in its own directory below ``basedir`` (see module docstring).

    Args:
        basedir: the directory holding one sub-directory per run (created if needed).
        resource_dir: where resources are copied (default ``basedir/_resources``).
        source_dir: where sources are copied (default ``basedir/_sources``).
        template: a mako template rendered into ``report<ext>`` at the end of each
            run (default: ``basedir/template.html`` or ``basedir/template.txt`` if
            one exists).
        priority: observers with higher priority are notified first (and choose the id).
        copy_artifacts: ``False`` stores resources that already lie inside ``basedir``
            (for example another run's artifact) by reference instead of copying
            them to ``_resources``.
        copy_sources: ``False`` does not copy the sources (``sources`` then hold
            ``[name, null]``).
    """

    priority = DEFAULT_FILE_STORAGE_PRIORITY

    def __init__(
        self,
        basedir: str | os.PathLike,
        resource_dir: str | os.PathLike | None = None,
        source_dir: str | os.PathLike | None = None,
        template: str | os.PathLike | None = None,
        priority: int = DEFAULT_FILE_STORAGE_PRIORITY,
        copy_artifacts: bool = True,
        copy_sources: bool = True,
    ) -> None:
        self.basedir = os.path.abspath(os.fspath(basedir))
        self.resource_dir = os.path.abspath(
            os.fspath(resource_dir) if resource_dir else os.path.join(self.basedir, "_resources")
        )
        self.source_dir = os.path.abspath(
            os.fspath(source_dir) if source_dir else os.path.join(self.basedir, "_sources")
        )
        self.template = os.path.abspath(os.fspath(template)) if template else None
        if self.template is not None and not os.path.isfile(self.template):
            raise ObserverError(
                f"FileStorageObserver: the report template {self.template!r} does not exist. "
                "Pass the path of an existing mako template, or leave template out to use "
                "basedir/template.html when there is one."
            )
        self.priority = priority
        self.copy_artifacts = copy_artifacts
        self.copy_sources = copy_sources
        self.dir: str | None = None
        self.run_id: Any = None
        self.run_entry: dict = {}
        self.config: dict = {}
        self.info: dict | None = None
        self.cout = ""
        self._reset_run_state()

    def _reset_run_state(self) -> None:
        self._cout_written: str | None = None  # the output cout.txt holds
        self._info_text: str | None = None  # what info.json holds
        self._metrics: dict[str, dict[str, list]] = {}
        self._unjournaled: dict[str, dict[str, list]] = {}
        self._points = 0
        self._beats = 0
        self._next_metrics_write = 1

    @classmethod
    def from_cli(cls, value: str) -> FileStorageObserver:
        """``-F BASEDIR`` / ``--file_storage=BASEDIR``."""
        return cls(value)

    @classmethod
    def create(cls, *args: Any, **kwargs: Any) -> FileStorageObserver:
        """Same as the constructor (kept for code written for older versions)."""
        return cls(*args, **kwargs)

    # -- ids ----------------------------------------------------------------------------

    def _make_run_dir(self, _id: Any, queued: bool = False) -> tuple[Any, str]:
        """The run's directory: ``basedir/<_id>`` when an id is given (a queued run's
        directory is taken over; any other existing record is never overwritten),
        otherwise a new directory named max(existing numeric ids) + 1. ``os.mkdir`` is
        atomic, so concurrent processes never get the same one."""
        os.makedirs(self.basedir, exist_ok=True)
        if _id is not None:
            path = os.path.join(self.basedir, _check_run_id(_id))
            try:
                os.mkdir(path)
            except FileExistsError:
                status = self._stored_status(path)
                if (
                    status is not None
                    and (queued or status != "QUEUED")
                    and (queued or not _claimed_by_worker(path))
                ):
                    raise ObserverError(
                        f"FileStorageObserver: {path} already holds a run ({status}); a "
                        f"run with the id {_id!r} would overwrite it. Choose another --id, "
                        "or let this observer choose the id (give it the highest priority)."
                    ) from None
            return _id, path
        while True:
            existing = [int(d) for d in os.listdir(self.basedir) if d.isdigit()]
            candidate = max(existing, default=0) + 1
            path = os.path.join(self.basedir, str(candidate))
            try:
                os.mkdir(path)  # atomic: exactly one process creates it
            except FileExistsError:
                continue
            return candidate, path

    @staticmethod
    def _stored_status(path: str) -> str | None:
        try:
            with open(os.path.join(path, "run.json"), encoding="utf-8") as f:
                return json.load(f).get("status") or "unknown status"
        except FileNotFoundError:
            return None
        except ValueError:
            return "unreadable run.json"

    # -- files --------------------------------------------------------------------------

    def _copy_once(self, filename: str, directory: str) -> str:
        """Copy filename into directory as <stem>_<md5><ext> unless already there."""
        digest = get_digest(filename)
        stem, ext = os.path.splitext(os.path.basename(filename))
        target_name = f"{stem}_{digest}{ext}"
        target = os.path.join(directory, target_name)
        if not os.path.exists(target):
            os.makedirs(directory, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
            os.close(fd)
            try:
                shutil.copyfile(filename, tmp)
                os.replace(tmp, target)
            except BaseException:
                _unlink_quietly(tmp)
                raise
        return os.path.relpath(target, self.basedir)

    def _save_sources(self, ex_info: dict) -> list:
        base_dir = ex_info.get("base_dir") or ""
        sources = []
        for name, _md5 in ex_info.get("sources", []):
            path = name if os.path.isabs(name) else os.path.join(base_dir, name)
            if self.copy_sources and os.path.isfile(path):
                sources.append([name, self._copy_once(path, self.source_dir)])
            else:
                sources.append([name, None])
        return sources

    def _write_json(self, name: str, data: Any, durable: bool = False) -> None:
        atomic_write(os.path.join(self.dir, name), _dumps(data), durable=durable)

    def save_json(self, obj: Any, filename: str) -> None:
        """Write obj as JSON into the run directory (atomically)."""
        self._write_json(filename, obj)

    def _save_run(self, durable: bool = False) -> None:
        self._write_json("run.json", self.run_entry, durable=durable)

    def _save_cout(self) -> None:
        path = os.path.join(self.dir, "cout.txt")
        cout = self.cout or ""
        written = self._cout_written
        if written is not None and cout is written:
            return
        if written is not None and cout.startswith(written):
            # The usual case: new output was appended; write only what is new.
            new = cout[len(written) :]
            if new:
                with open(path, "a", encoding="utf-8", errors="replace") as f:
                    f.write(new)
        else:  # first write, or a filter rewrote earlier output
            atomic_write(path, cout.encode("utf-8", errors="replace"))
        self._cout_written = cout

    def _save_info(self, info: dict) -> None:
        text = _dumps(info)
        if text != self._info_text:
            atomic_write(os.path.join(self.dir, "info.json"), text)
            self._info_text = text

    def _save_metrics_file(self, durable: bool = False) -> None:
        atomic_write(
            os.path.join(self.dir, "metrics.json"), _encode_json(self._metrics), durable=durable
        )

    # -- events -------------------------------------------------------------------------

    def _initial_entry(self, ex_info: dict, command: str, host_info: dict, meta_info: dict) -> dict:
        experiment = dict(ex_info)
        experiment["sources"] = self._save_sources(ex_info)
        return {
            "experiment": experiment,
            "command": command,
            "host": dict(host_info or {}),
            "meta": dict(meta_info or {}),
            "resources": [],
            "artifacts": [],
        }

    def queued_event(self, ex_info, command, host_info, queue_time, config, meta_info, _id):
        self.run_id, self.dir = self._make_run_dir(_id, queued=True)
        self.run_entry = self._initial_entry(ex_info, command, host_info, meta_info)
        self.run_entry.update({"status": "QUEUED", "queue_time": queue_time})
        self.config = config
        self._write_json("config.json", config, durable=True)
        self._save_run(durable=True)
        return self.run_id

    def started_event(self, ex_info, command, host_info, start_time, config, meta_info, _id):
        self.run_id, self.dir = self._make_run_dir(_id)
        self.run_entry = self._initial_entry(ex_info, command, host_info, meta_info)
        self.run_entry.update(
            {
                "status": "RUNNING",
                "start_time": start_time,
                "heartbeat": None,
                "stop_time": None,
                "result": None,
            }
        )
        self.config = config
        self.info = {}
        self.cout = ""
        self._reset_run_state()
        self._continue_claimed_run()
        self._write_json("config.json", config, durable=True)
        self._save_run(durable=True)
        self._save_cout()
        return self.run_id

    def heartbeat_event(self, info, captured_out, beat_time, result):
        self.info = info
        self.run_entry["heartbeat"] = beat_time
        self.run_entry["result"] = result
        self.cout = captured_out
        self._save_cout()
        self._save_run()
        if info:
            self._save_info(info)
        self._write_journal()
        self._beats += 1
        if (
            self._metrics
            and self._beats >= self._next_metrics_write
            and self._points <= MIDRUN_METRICS_REWRITE_LIMIT
        ):
            self._save_metrics_file()
            self._next_metrics_write *= 2

    def log_metrics(self, metrics_by_name, info):
        if not metrics_by_name:
            return
        for name, series in metrics_by_name.items():
            stored = self._metrics.setdefault(name, {"steps": [], "values": [], "timestamps": []})
            pending = self._unjournaled.setdefault(
                name, {"steps": [], "values": [], "timestamps": []}
            )
            for key in ("steps", "values", "timestamps"):
                stored[key].extend(series[key])
                pending[key].extend(series[key])
            self._points += len(series["steps"])

    def _write_journal(self) -> None:
        """Append the measurements received since the last heartbeat to the journal."""
        if self._unjournaled:
            # Encoded before the file is opened and appended with one write, so the
            # journal never sits half-written while a large batch is being encoded.
            line = _encode_json(self._unjournaled) + b"\n"
            with open(os.path.join(self.dir, METRICS_JOURNAL), "ab", buffering=0) as f:
                f.write(line)
            self._unjournaled = {}

    def _final(self, status: str, stop_time: datetime.datetime, **extra: Any) -> None:
        self.run_entry["status"] = status
        self.run_entry["stop_time"] = stop_time
        self.run_entry.update(extra)
        if self._metrics:  # complete: the last batch need not go to the journal too
            self._save_metrics_file(durable=True)
        self._unjournaled = {}
        self._save_run(durable=True)
        self._render_template()

    def completed_event(self, stop_time, result):
        self._final("COMPLETED", stop_time, result=result)

    def interrupted_event(self, interrupt_time, status):
        self._final(status, interrupt_time)

    def failed_event(self, fail_time, fail_trace):
        self._final("FAILED", fail_time, fail_trace=fail_trace)

    def resource_event(self, filename):
        absolute = os.path.abspath(filename)
        inside_basedir = os.path.commonpath([absolute, self.basedir]) == self.basedir
        if inside_basedir and not self.copy_artifacts:
            stored = os.path.relpath(absolute, self.basedir)  # e.g. another run's artifact
        else:
            stored = self._copy_once(filename, self.resource_dir)
        entry = [filename, stored]
        if entry not in self.run_entry["resources"]:
            self.run_entry["resources"].append(entry)
        self._save_run()

    def artifact_event(self, name, filename, metadata=None, content_type=None):
        _check_artifact_name(name)
        target = os.path.join(self.dir, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if os.path.abspath(filename) != os.path.abspath(target):
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".tmp-")
            os.close(fd)
            try:
                shutil.copyfile(filename, tmp)
                os.replace(tmp, target)
            except BaseException:
                _unlink_quietly(tmp)
                raise
        if name not in self.run_entry["artifacts"]:
            self.run_entry["artifacts"].append(name)
        self._save_run()

    # -- report -------------------------------------------------------------------------

    def _find_template(self) -> str | None:
        if self.template:
            return self.template
        for candidate in ("template.html", "template.txt"):
            path = os.path.join(self.basedir, candidate)
            if os.path.isfile(path):
                return path
        return None

    def _render_template(self) -> None:
        """Render the report; a broken template is reported, never fatal: the run's
        record is already complete when this runs."""
        template = self._find_template()
        if template is None:
            return
        logger = logging.getLogger(__name__)
        try:
            from mako.template import Template
        except ImportError:
            logger.warning(
                "the report template %s exists but mako is not installed: pip install mako",
                template,
            )
            return
        ext = os.path.splitext(template)[1] or ".txt"
        try:
            report = Template(filename=template).render(
                run=self.run_entry,
                config=self.config,
                info=self.info or {},
                cout=self.cout,
                metrics=self._metrics,
                savedir=self.dir,
                _id=self.run_id,
                **self.run_entry,
            )
        except Exception as exc:
            logger.warning(
                "rendering the report template %s failed (%s: %s); the run's record in %s "
                "is complete, only report%s is missing",
                template,
                type(exc).__name__,
                exc,
                self.dir,
                ext,
            )
            return
        atomic_write(os.path.join(self.dir, "report" + ext), report)

    def _continue_claimed_run(self) -> None:
        """A run resumed in this record (sacred.worker) keeps its artifacts, resources
        and metrics; new ones are added to them."""
        from sacred.observers.file_storage.claim import previous_state

        state = previous_state(self.dir)
        if state is not None:
            self.run_entry["artifacts"] = state["artifacts"]
            self.run_entry["resources"] = state["resources"]
            self._metrics = state["metrics"]
            self._points = sum(len(m["steps"]) for m in self._metrics.values())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FileStorageObserver) and other.basedir == self.basedir

    __hash__ = RunObserver.__hash__


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _claimed_by_worker(path: str) -> bool:
    """A worker claimed this run for the process now starting it (sacred.worker)."""
    from sacred.observers.file_storage.claim import claimed_dir

    return claimed_dir(path)
