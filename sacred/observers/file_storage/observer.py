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
        metrics.json                 {name: {"steps", "timestamps", "values"}}
        .metrics.jsonl               journal of metric batches while the run goes on
        <artifact name>              each artifact
        report.html / report.txt     rendered from a mako template, when one exists

run.json holds ``artifacts, command, experiment, heartbeat, host, meta, resources,
result, start_time, status, stop_time`` (and ``fail_trace`` for failed runs); a queued
run's holds ``command, experiment, host, meta`` (with ``queue_time``) and ``status``.
Datetimes are ISO strings without time zone, holding UTC. ``experiment.sources`` are
``[name, "_sources/<file>"]`` pairs; ``resources`` are ``[filename, "<basedir as
given>/_resources/<file>"]`` pairs, as the original writes them. JSON files are
written like the original's: sorted keys, indented by 2; metrics.json too, with
timestamps always carrying microseconds.

Safety: every JSON file is replaced atomically (written to a temporary file in
the same directory, then renamed), so a run killed at any instant leaves valid
files; files get the permissions the user's umask gives (not the 0600 of temporary
files), so colleagues can read a shared store. Run ids are allocated with
``os.mkdir``, which is atomic, so concurrent processes starting runs in one basedir
get distinct ids.

Metrics: rewriting all of metrics.json at every heartbeat costs time proportional
to everything logged so far. Instead each heartbeat appends the measurements that
arrived since the previous one as one JSON line ``{name: {"steps", "values",
"timestamps"}}`` to ``.metrics.jsonl``, and metrics.json is rewritten only at
exponentially spaced heartbeats (1, 2, 4, 8, ... beats) while it holds at most
20,000 points (a rewrite then costs a few ms), and at the end of the run (the last
batch goes only there), when the journal is removed. While a run is going, or after
it was killed, metrics.json may lag behind but the journal holds every measurement
up to the last heartbeat; readers (``sacred.store``) use whichever of the two holds
more points per metric. A journal line holds only the points that are new at that
beat; the last line of a killed run may be cut off, and a line that does not parse
ends the journal. Details and decisions: docs/observers.md.

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
from typing import Any

from sacred.dependencies import get_digest
from sacred.exceptions import ObserverError
from sacred.observers._record import RecordObserver, may_take_over
from sacred.observers.file_storage.files import (
    METRICS_JOURNAL,
    TRASH_DIR,
    _dumps,
    _json_default,
    _temporary,
    _unlink_quietly,
    atomic_write,
    refresh_umask,
)

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - optional accelerator
    _orjson = None  # type: ignore[assignment]  # checked before every use

__all__ = ["FileStorageObserver", "DEFAULT_FILE_STORAGE_PRIORITY"]

DEFAULT_FILE_STORAGE_PRIORITY = 20
# Above this many points a mid-run rewrite of metrics.json would make heartbeats slow
# (tens of ms); from then on it is written at the end only (the journal stays current).
MIDRUN_METRICS_REWRITE_LIMIT = 20_000
# Fields of the record kept in files of their own instead of run.json.
_NOT_IN_RUN_JSON = ("config", "captured_out", "info", "format")


def _all_finite(metrics: dict) -> bool:
    try:
        return all(all(map(math.isfinite, series["values"])) for series in metrics.values())
    except TypeError:  # a value that is not a number
        return False


def _encode_json(metrics: dict) -> bytes:
    """Metrics as compact JSON (the journal), timestamps as ISO strings. orjson (when
    installed) is ~5x faster than json for the millions of numbers a run can log; it
    would write NaN as null, so batches with NaN or infinities go through json."""
    if _orjson is not None and _all_finite(metrics):
        try:
            return _orjson.dumps(metrics)
        except TypeError:  # a value orjson does not know (the run normalises numbers)
            pass
    return json.dumps(metrics, default=_json_default).encode("utf-8")


_NUMBERS = {int, float}
_INDENT_ITEM = ",\n      "


def _iso_microseconds(stamps: list) -> list:
    """ISO strings that always carry microseconds (``isoformat`` drops ``.000000``);
    one conversion per distinct datetime (measurements share them)."""
    cache = {
        stamp: stamp.isoformat(timespec="microseconds")
        if isinstance(stamp, datetime.datetime)
        else stamp
        for stamp in set(stamps)
    }
    return list(map(cache.__getitem__, stamps))


def _indented_list(items: list) -> str:
    """``json.dumps(items, indent=2)`` at depth 2 of metrics.json, made from the C
    encoder's one-line output: splitting at ", " is safe for numbers and ISO strings."""
    if not items:
        return "[]"
    return "[\n      " + _INDENT_ITEM.join(json.dumps(items)[1:-1].split(", ")) + "\n    ]"


def encode_metrics_file(metrics: dict) -> bytes:
    """metrics.json as the original writes it: sorted keys, indent 2, timestamps with
    microseconds, NaN/Infinity as JSON tokens; what ``json.dumps(..., sort_keys=True,
    indent=2)`` writes. An indented json.dumps runs in pure Python, far too slow for
    100,000s of points, so orjson writes it when installed (it would write NaN as
    null: not for series holding NaN or infinities), otherwise it is built from the
    C encoder's one-line output."""
    converted = {
        str(name): {
            "steps": series["steps"],
            "timestamps": _iso_microseconds(series["timestamps"]),
            "values": series["values"],
        }
        for name, series in metrics.items()
    }
    if not converted:
        return b"{}"
    if _orjson is not None and _all_finite(converted):
        try:
            return _orjson.dumps(converted, option=_orjson.OPT_INDENT_2 | _orjson.OPT_SORT_KEYS)
        except TypeError:  # a value orjson does not know
            pass
    parts = []
    for name in sorted(converted):
        series = converted[name]
        if set(map(type, series["values"])) <= _NUMBERS and set(map(type, series["steps"])) <= {
            int
        }:
            body = (
                '{\n    "steps": '
                + _indented_list(series["steps"])
                + ',\n    "timestamps": '
                + _indented_list(series["timestamps"])
                + ',\n    "values": '
                + _indented_list(series["values"])
                + "\n  }"
            )
        else:
            body = json.dumps(series, indent=2, sort_keys=True, default=_json_default)
            body = body.replace("\n", "\n  ")
        parts.append(f"  {json.dumps(name)}: {body}")
    return ("{\n" + ",\n".join(parts) + "\n}").encode("utf-8")


def _copy_atomically(source: str, target: str) -> None:
    fd, tmp = _temporary(os.path.dirname(target))
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except BaseException:
        _unlink_quietly(tmp)
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


def _trashed_ids(basedir: str) -> list[int]:
    try:
        return [int(d) for d in os.listdir(os.path.join(basedir, TRASH_DIR)) if d.isdigit()]
    except OSError:
        return []


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


def check_usable_directory(path: str) -> None:
    """Create ``path`` (and its parents) if needed; ObserverError, saying what to do,
    when it cannot hold runs (a file, a read-only or virtual file system)."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise ObserverError(
            f"FileStorageObserver: {path!r} exists and is not a directory; give the "
            "directory that holds (or will hold) the runs."
        )
    try:
        os.makedirs(path, exist_ok=True)
        fd, probe = _temporary(path)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ObserverError(
            f"FileStorageObserver cannot store runs in {path!r}: {exc.strerror or exc}. "
            "Give a directory you can write to."
        ) from None


class FileStorageObserver(RecordObserver):
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
        # Resource paths are recorded under the basedir as given (relative or not), as
        # the original records them; the files are written to the absolute path.
        self.basedir_as_given = os.fspath(basedir)
        self.basedir = os.path.abspath(self.basedir_as_given)
        if os.path.exists(self.basedir) and not os.path.isdir(self.basedir):
            raise ObserverError(
                f"FileStorageObserver: {self.basedir_as_given!r} exists and is not a "
                "directory; give the directory that holds (or will hold) the runs."
            )
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
        self._begin()

    @property
    def _run_dir(self) -> str:
        """The run's directory, for the writes that only happen once it was made."""
        assert self.dir is not None, "the run directory is made before anything is written"
        return self.dir

    def _begin(self) -> None:
        super()._begin()
        refresh_umask()
        self._cout_written: str | None = None  # the output cout.txt holds
        self._info_text: str | None = None  # what info.json holds
        self._metrics: dict[str, dict[str, list]] = {}
        self._unjournaled: dict[str, dict[str, list]] = {}
        self._points = 0
        self._beats = 0
        self._next_metrics_write = 1
        self._fence: Any = None  # the worker's claim the writes are fenced by

    @property
    def run_entry_file(self) -> dict:
        """What run.json holds: the record without the fields kept in their own files."""
        return {k: v for k, v in self.run_entry.items() if k not in _NOT_IN_RUN_JSON}

    @classmethod
    def from_cli(cls, value: str) -> FileStorageObserver:
        """``-F BASEDIR`` / ``--file_storage=BASEDIR``: checked (and created) right away,
        so an unusable path is a one-line command-line error, not a failed run."""
        check_usable_directory(os.path.abspath(value))
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
        try:
            os.makedirs(self.basedir, exist_ok=True)
        except OSError as exc:
            raise ObserverError(
                f"FileStorageObserver cannot store runs in {self.basedir_as_given!r}: "
                f"{exc.strerror or exc}. Give a directory you can write to."
            ) from None
        if _id is not None:
            path = os.path.join(self.basedir, _check_run_id(_id))
            try:
                os.mkdir(path)
            except FileExistsError:
                may_take_over(
                    self,
                    path,
                    _id,
                    self._stored_status(path),
                    queued,
                    claimed=_claimed_by_worker(path),
                )
            return _id, path
        while True:
            existing = [int(d) for d in os.listdir(self.basedir) if d.isdigit()]
            # Listed after the store: a run trashed in between is seen in one of them.
            existing += _trashed_ids(self.basedir)
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
        """Copy filename into directory as <stem>_<md5><ext> unless already there;
        returns the path of the copy."""
        digest = get_digest(filename)
        stem, ext = os.path.splitext(os.path.basename(filename))
        target = os.path.join(directory, f"{stem}_{digest}{ext}")
        if not os.path.exists(target):
            os.makedirs(directory, exist_ok=True)
            _copy_atomically(filename, target)
        return target

    def _recorded_path(self, target: str) -> str:
        """``target`` as the record names it: under the basedir as given (a resource_dir
        outside basedir: its absolute path)."""
        if os.path.commonpath([target, self.basedir]) != self.basedir:
            return target
        return os.path.join(self.basedir_as_given, os.path.relpath(target, self.basedir))

    def _save_sources(self, ex_info: dict) -> list:
        sources: list[list[str | None]] = []
        for name, _md5, path in self._source_files(ex_info):
            if self.copy_sources and os.path.isfile(path):
                copy = self._copy_once(path, self.source_dir)
                sources.append([name, os.path.relpath(copy, self.basedir)])
            else:
                sources.append([name, None])
        return sources

    def _write_json(self, name: str, data: Any, durable: bool = False) -> None:
        atomic_write(os.path.join(self._run_dir, name), _dumps(data), durable=durable)

    def _save_run(self, durable: bool = False) -> None:
        self._write_json("run.json", self.run_entry_file, durable=durable)

    def _save_cout(self) -> None:
        path = os.path.join(self._run_dir, "cout.txt")
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

    def _save_info(self) -> None:
        text = _dumps(self.run_entry.get("info") or {})
        if text != self._info_text:
            atomic_write(os.path.join(self._run_dir, "info.json"), text)
            self._info_text = text

    def _save_metrics_file(self, durable: bool = False) -> None:
        atomic_write(
            os.path.join(self._run_dir, "metrics.json"),
            encode_metrics_file(self._metrics),
            durable=durable,
        )

    # -- the record's storage (hooks of RecordObserver) ----------------------------------

    def _open(self, entry: dict, _id: Any, queued: bool) -> Any:
        run_id, self.dir = self._make_run_dir(_id, queued=queued)
        if not queued:
            self._fence = _fence_for(run_id, self.dir)
            self._continue_claimed_run()
        with self._fenced() as held:
            if not held:
                raise ObserverError(
                    f"FileStorageObserver: run {run_id} was re-queued and handed to another "
                    "attempt before this one could start; this attempt does not run."
                )
            self._write_json("config.json", self.config, durable=True)
            self._save_run(durable=True)
            if not queued:
                self._save_cout()
        return run_id

    def _fenced(self) -> Any:
        """A context yielding whether this attempt may write now: always, unless a
        worker's claim fences the run; then under the run's lock, only while run.json
        still holds the claim (sacred.observers.claiming)."""
        from sacred.observers.file_storage.claim import fenced

        return fenced(self._fence, self.dir)

    def _save(self, fields: tuple[str, ...] | None = None) -> None:
        with self._fenced() as held:
            if held:
                self._save_run()

    def _save_heartbeat(self) -> None:
        with self._fenced() as held:
            if held:
                self._save_heartbeat_files()

    def _save_heartbeat_files(self) -> None:
        self._save_cout()
        self._save_run()
        if self.info:
            self._save_info()
        self._write_journal()
        self._beats += 1
        if (
            self._metrics
            and self._beats >= self._next_metrics_write
            and self._points <= MIDRUN_METRICS_REWRITE_LIMIT
        ):
            self._save_metrics_file()
            self._next_metrics_write *= 2

    def _save_final(self) -> None:
        with self._fenced() as held:
            if not held:
                return
            # metrics.json is complete now (the last batch need not go to the journal
            # too), so the journal goes; like the original, a started run always has
            # metrics.json.
            self._save_metrics_file(durable=True)
            self._unjournaled = {}
            _unlink_quietly(os.path.join(self._run_dir, METRICS_JOURNAL))
            self._save_run(durable=True)
        self._render_template()

    def _store_resource(self, filename: str) -> list:
        absolute = os.path.abspath(filename)
        inside_basedir = os.path.commonpath([absolute, self.basedir]) == self.basedir
        if inside_basedir and not self.copy_artifacts:
            stored = absolute  # e.g. another run's artifact: referenced where it is
        else:
            stored = self._copy_once(filename, self.resource_dir)
        return [filename, self._recorded_path(stored)]

    def _store_artifact(
        self, name: str, filename: str, metadata: dict | None, content_type: str | None
    ) -> str:
        _check_artifact_name(name)
        target = os.path.join(self._run_dir, name)
        with self._fenced() as held:
            if held:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                if os.path.abspath(filename) != os.path.abspath(target):
                    _copy_atomically(filename, target)
        return name

    # -- metrics --------------------------------------------------------------------------

    def log_metrics(self, metrics_by_name: dict, info: dict) -> None:
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
            path = os.path.join(self._run_dir, METRICS_JOURNAL)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
            self._unjournaled = {}

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
                run=self.run_entry_file,
                config=self.config,
                info=self.info or {},
                cout=self.cout,
                metrics=self._metrics,
                savedir=self.dir,
                _id=self.run_id,
                **self.run_entry_file,
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
        atomic_write(os.path.join(self._run_dir, "report" + ext), report)

    def _location(self) -> Any:
        return self.basedir

    def _continue_claimed_run(self) -> None:
        """A run resumed in this record (sacred.worker) keeps its artifacts, resources
        and metrics; new ones are added to them."""
        from sacred.observers.file_storage.claim import previous_state

        state = previous_state(self._run_dir)
        if state is not None:
            self.run_entry["artifacts"] = state["artifacts"]
            self.run_entry["resources"] = state["resources"]
            self._metrics = state["metrics"]
            self._points = sum(len(m["steps"]) for m in self._metrics.values())


def _fence_for(run_id: Any, path: str) -> Any:
    """The fence of a run a worker claimed for this process (None for other runs)."""
    from sacred.observers.file_storage.claim import fence_for

    return fence_for(run_id, path)


def _claimed_by_worker(path: str) -> bool:
    """A worker claimed this run for the process now starting it (sacred.worker)."""
    from sacred.observers.file_storage.claim import claimed_dir

    return claimed_dir(path)
