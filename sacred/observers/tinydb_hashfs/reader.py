"""Reading a TinyDbObserver's directory: the documented ``TinyDbReader`` and the
``sacred.store`` backend built on it (one implementation of the layout).

Layout (the original release's, which this project's observer also writes):
``metadata.json`` is a TinyDB database whose table ``runs`` holds one document per
run (stores written by earlier versions of this project used TinyDB's ``_default``
table; both are read), ``hashfs/`` holds the files by md5. In a document, sources
and resources are ``[name, md5, file]``, artifacts ``[name, source path, md5,
file]`` (or ``[name, md5, file]``), where ``file`` is stored as
``{TinyFile}:"<md5>"`` and read back as a file handle; times are stored as
``{TinyDate}:<iso>``, numpy arrays as ``{TinyArray}:<JSON list>``. Metrics (not
stored by the original observer) are documents ``{run_id, name, steps, values,
timestamps}`` of the table ``metrics``.

Reading never fails on one bad value: a time or file reference that does not
decode is kept as its text (and written back unchanged when tags or notes are
saved), and the run holding it is reported with a DamagedRunWarning.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import textwrap
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from sacred.exceptions import QueryError, StoreError
from sacred.store.base import (
    DamagedRunError,
    StoreBackend,
    damage_message,
    record_problem,
    report_damaged,
)

if TYPE_CHECKING:  # tinydb is optional (the tinydb extra)
    from tinydb.table import Document

__all__ = ["TinyDbReader", "TinyDbStoreReader"]

RUN_TABLES = ("runs", "_default")
#: The field that puts a run in the trash (it stays in its table, so the observers,
#: which give each run a random id, never meet it) and the table of saved views.
TRASHED = "trashed_at"
VIEWS_TABLE = "sacred_views"


class _RawDate(str):
    """A {TinyDate} value that is not an ISO date and time, kept as stored."""


class _RawFile(str):
    """A {TinyFile} reference whose file is missing from the hashfs, kept as stored."""


class _RawArray(str):
    """A {TinyArray} value that could not be decoded (or numpy is missing)."""


def _serializers(fs: Any) -> list:
    from tinydb_serialization import Serializer

    from sacred.observers.tinydb_hashfs.observer import BufferedReaderWrapper

    class DateSerializer(Serializer):
        OBJ_CLASS = (datetime.datetime, _RawDate)

        def encode(self, obj: Any) -> str:
            return str(obj) if isinstance(obj, _RawDate) else obj.isoformat()

        def decode(self, s: str) -> Any:
            try:
                return datetime.datetime.fromisoformat(s)
            except (TypeError, ValueError):
                return _RawDate(s)

    class FileSerializer(Serializer):
        OBJ_CLASS = (BufferedReaderWrapper, _RawFile)

        def encode(self, obj: Any) -> str:
            return str(obj) if isinstance(obj, _RawFile) else json.dumps(obj.hash)

        def decode(self, s: str) -> Any:
            try:
                hash_id = json.loads(s)
                address = fs.get(hash_id) if isinstance(hash_id, str) else None
            except (ValueError, OSError):
                address = None
            if address is None or not os.path.isfile(address.abspath):
                return _RawFile(s)
            return BufferedReaderWrapper(address.abspath, hash_id)

    serializers = [(DateSerializer(), "TinyDate"), (FileSerializer(), "TinyFile")]
    try:
        import numpy as np
    except ImportError:  # arrays stay text; they are written back as they were
        return [*serializers, (_RawSerializer(_RawArray), "TinyArray")]

    class ArraySerializer(Serializer):
        OBJ_CLASS = (np.ndarray, _RawArray)

        def encode(self, obj: Any) -> str:
            return str(obj) if isinstance(obj, _RawArray) else json.dumps(obj.tolist())

        def decode(self, s: str) -> Any:
            try:
                return np.array(json.loads(s))
            except (TypeError, ValueError):
                return _RawArray(s)

    return [*serializers, (ArraySerializer(), "TinyArray")]


class _RawSerializer:
    def __init__(self, cls: type) -> None:
        self.OBJ_CLASS = cls

    def encode(self, obj: Any) -> str:
        return str(obj)

    def decode(self, s: str) -> Any:
        return self.OBJ_CLASS(s)


def open_for_reading(path: str) -> tuple[Any, Any]:
    """(TinyDB, HashFS) of an existing TinyDB store, with tolerant decoding (see the
    module doc); writes (tags, notes, deletion) replace metadata.json atomically."""
    from hashfs import HashFS
    from tinydb import TinyDB

    from sacred.observers.tinydb_hashfs.observer import _atomic_json_storage
    from sacred.observers.tinydb_hashfs.serialization import serialization_middleware

    fs = HashFS(os.path.join(path, "hashfs"), depth=3, width=2, algorithm="md5")
    storage = serialization_middleware(_atomic_json_storage())
    for serializer, name in _serializers(fs):
        storage.register_serializer(serializer, name)
    return TinyDB(os.path.join(path, "metadata.json"), storage=storage), fs


class TinyDbReader:
    """Query a TinyDbObserver's directory: metadata, files and summary reports.

    ``search``/``fetch_metadata``, ``fetch_files`` and ``fetch_report`` select runs
    by ``indices`` (like list indexing, in the order run), ``exp_name`` (a regular
    expression searched in the name) or ``query`` (a TinyDB query); all runs if
    none is given."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.path.abspath(os.fspath(path))
        metadata = os.path.join(self.path, "metadata.json")
        if not os.path.isfile(metadata):
            raise StoreError(
                f"No TinyDB store at {self.path!r} (no metadata.json there). Give the "
                "directory passed to TinyDbObserver or -t (default: runs_db)."
            )
        try:
            self.db, self.fs = open_for_reading(self.path)
        except ImportError as exc:
            from sacred.store.base import MissingExtraError

            raise MissingExtraError(
                f"Reading the TinyDB store {self.path!r} needs {exc.name or exc}, which is not "
                "installed: pip install 'sacred[tinydb]'"
            ) from None
        tables = self._tables()
        self._runs_table = tables[0] if tables else "runs"

    @property
    def runs(self) -> Any:
        """The table of runs (read afresh: other processes may write the store)."""
        from sacred.observers.tinydb_hashfs.observer import fresh_table

        return fresh_table(self.db, self._runs_table)

    def _tables(self) -> list[str]:
        try:
            present = self.db.tables()
        except ValueError as exc:  # json.JSONDecodeError
            raise StoreError(
                f"The TinyDB store {self.path!r} cannot be read: metadata.json is not valid "
                f"JSON ({exc}). Restore it from a backup; the files in hashfs/ are intact."
            ) from None
        except OSError as exc:
            raise StoreError(
                f"The TinyDB store {self.path!r} cannot be read: metadata.json: "
                f"{exc.strerror or exc}."
            ) from None
        return [name for name in RUN_TABLES if name in present]

    def located(self, trashed: bool = False) -> list[tuple[Any, Any]]:
        """(table, document) of every run, in the order the runs were stored; those
        in the trash (a ``trashed_at`` field, see TinyDbStoreReader.trash_run) when
        trashed is true, else all others."""
        from sacred.observers.tinydb_hashfs.observer import fresh_table

        found: list[tuple[Any, Any]] = []
        for name in self._tables():
            table = fresh_table(self.db, name)
            found.extend(
                (table, doc)
                for doc in table.all()
                if (isinstance(doc, dict) and TRASHED in doc) == trashed
            )
        return found

    def documents(self) -> list[Document]:
        """Every run document, in the order the runs were stored."""
        return [doc for _, doc in self.located()]

    def search(self, *args: Any, **kwargs: Any) -> list:
        """The runs a TinyDB query selects, ``search(Query().config.C == 1)``, as the
        original's ``search`` (TinyDB's own); with keywords (``exp_name``, ``query``,
        ``indices``) the same selection as :meth:`fetch_metadata`."""
        if len(args) == 1 and not kwargs and callable(args[0]):  # a TinyDB query
            return self.fetch_metadata(query=args[0])
        return self.fetch_metadata(*args, **kwargs)

    def fetch_metadata(
        self, exp_name: str | None = None, query: Any = None, indices: int | list[int] | None = None
    ) -> list[Document]:
        """Runs selected by indices (like list indexing, in the order run), exp_name (a
        regular expression searched in the name; a string that is no valid regular
        expression matches as a substring) or a TinyDB query; all runs if none."""
        selectors = {"exp_name": exp_name, "query": query, "indices": indices}
        given = [name for name, value in selectors.items() if value is not None]
        if len(given) > 1:
            raise QueryError(
                "TinyDbReader: give only one of exp_name, query and indices "
                f"(got {', '.join(given)})"
            )
        documents = self.documents()
        if indices is not None:
            picks = [indices] if isinstance(indices, int) else list(indices)
            try:
                return [documents[i] for i in picks]
            except IndexError:
                raise IndexError(
                    f"index out of range: the store holds {len(documents)} runs"
                ) from None
        if exp_name is not None:
            try:
                pattern = re.compile(exp_name)
            except re.error:
                pattern = re.compile(re.escape(exp_name))
            return [d for d in documents if pattern.search(_name(d))]
        if query is not None:
            return [d for d in documents if _matches(query, d)]
        return documents

    def fetch_files(
        self, exp_name: str | None = None, query: Any = None, indices: int | list[int] | None = None
    ) -> list[dict]:
        """[{date, exp_id, exp_name, sources: {name: file}, artifacts: ..., resources: ...}]"""
        results = []
        for entry in self.fetch_metadata(exp_name, query, indices):
            experiment = entry.get("experiment") if isinstance(entry, dict) else None
            experiment = experiment if isinstance(experiment, dict) else {}
            item = {
                "date": entry.get("start_time"),
                "exp_id": entry.get("_id"),
                "exp_name": experiment.get("name"),
            }
            for kind, records in (
                ("sources", experiment.get("sources")),
                ("artifacts", entry.get("artifacts")),
                ("resources", entry.get("resources")),
            ):
                files = {
                    record[0]: record[-1]
                    for record in _entries(records)
                    if hasattr(record[-1], "read")
                }
                if files:
                    item[kind] = files
            results.append(item)
        return results

    def fetch_report(
        self, exp_name: str | None = None, query: Any = None, indices: int | list[int] | None = None
    ) -> list[str]:
        """Summary reports (text) of the selected runs."""
        return [_report(entry) for entry in self.fetch_metadata(exp_name, query, indices)]

    def read_file(self, md5: str) -> bytes:
        """The content of a stored file by its md5."""
        address = self.fs.get(md5) if isinstance(md5, str) else None
        if address is None or not os.path.isfile(address.abspath):
            raise StoreError(f"File {md5} is missing from {os.path.join(self.path, 'hashfs')}.")
        with open(address.abspath, "rb") as f:
            return f.read()

    def close(self) -> None:
        self.db.close()


def _name(document: Any) -> str:
    experiment = document.get("experiment")
    name = experiment.get("name") if isinstance(experiment, dict) else None
    return name if isinstance(name, str) else ""


def _matches(query: Any, document: Any) -> bool:
    try:
        return bool(query(document))
    except (TypeError, KeyError, AttributeError):  # a damaged document
        return False


def _entries(records: Any) -> list[list]:
    """The well-formed [name, ..., file] entries of a list of files."""
    if not isinstance(records, list):
        return []
    return [r for r in records if isinstance(r, list) and len(r) >= 2 and isinstance(r[0], str)]


def _md5(entry: list) -> Any:
    """The md5 of a file entry: [name, md5, file] or [name, source path, md5, file]."""
    return entry[2] if len(entry) >= 4 else entry[1]


class TinyDbStoreReader(StoreBackend):
    """The sacred.store backend over TinyDbReader (queries run in Python)."""

    def __init__(self, basedir: str) -> None:
        self.reader = TinyDbReader(basedir)
        self.location = self.reader.path
        self.db, self.fs = self.reader.db, self.reader.fs

    @property
    def metrics_table(self) -> Any:
        from sacred.observers.tinydb_hashfs.observer import METRICS_TABLE, fresh_table

        return fresh_table(self.db, METRICS_TABLE)

    def _locked(self) -> Any:
        """The write lock the observers take: tags, notes and deletions are
        read-modify-writes of metadata.json like theirs."""
        from sacred.observers.tinydb_hashfs.observer import write_lock

        return write_lock(self.location)

    def _record(self, doc: Any) -> dict:
        record = dict(doc)
        experiment = record.get("experiment")
        if isinstance(experiment, dict):
            experiment = dict(experiment)
            if isinstance(experiment.get("sources"), list):
                experiment["sources"] = [[s[0], _md5(s)] for s in _entries(experiment["sources"])]
            record["experiment"] = experiment
        if isinstance(record.get("resources"), list):
            record["resources"] = [[r[0], _md5(r)] for r in _entries(record["resources"])]
        if isinstance(record.get("artifacts"), list):
            record["artifacts"] = [a[0] for a in _entries(record["artifacts"])]
        record.pop("format", None)
        record.pop("captured_out", None)
        record.setdefault("tags", [])
        record.setdefault("note", None)
        meta = record.get("meta")
        if "queue_time" not in record and isinstance(meta, dict) and "queue_time" in meta:
            record["queue_time"] = meta["queue_time"]
        return record

    def _checked(self, doc: Any) -> tuple[dict | None, str | None]:
        if not isinstance(doc, dict):
            return None, f"the document is a {type(doc).__name__}, not an object"
        record = self._record(doc)
        return record, record_problem(record)

    def _located(self, run_id: Any, trashed: bool = False) -> tuple[Any, Any]:
        for table, doc in self.reader.located(trashed):
            if str(doc.get("_id")) == str(run_id):
                return table, doc
        where = "the trash of " if trashed else ""
        raise StoreError(f"No run with id {run_id!r} in {where}the TinyDB store {self.location}.")

    def _doc(self, run_id: Any) -> Any:
        return self._located(run_id)[1]

    def iter_records(self) -> Iterator[dict]:
        for doc in self.reader.documents():
            record, problem = self._checked(doc)
            if problem is not None:
                run_id = doc.get("_id", f"#{doc.doc_id}") if isinstance(doc, dict) else "?"
                report_damaged(self.location, run_id, "metadata.json", problem)
                continue
            assert record is not None  # _checked gives a record whenever it finds no problem
            yield record

    def get_record(self, run_id: Any) -> dict | None:
        try:
            doc = self._doc(run_id)
        except StoreError:
            return None
        record, problem = self._checked(doc)
        if problem is not None:
            raise DamagedRunError(
                damage_message(self.location, run_id, "metadata.json", problem)
                + ". Repair the document or delete the run.",
                run_id=run_id,
                file="metadata.json",
            )
        return record

    def captured_out(self, run_id: Any) -> str:
        text = self._doc(run_id).get("captured_out")
        return text if isinstance(text, str) else ""

    def metrics(self, run_id: Any, names: Iterable[str] | None = None) -> dict[str, dict]:
        from tinydb import Query

        wanted = set(names) if names is not None else None
        found = {}
        for doc in self.metrics_table.search(Query().run_id == str(run_id)):
            if wanted is not None and doc.get("name") not in wanted:
                continue
            series = {key: doc.get(key) for key in ("steps", "values", "timestamps")}
            if not all(isinstance(v, list) for v in series.values()):
                report_damaged(
                    self.location,
                    run_id,
                    "metadata.json",
                    f"metric {doc.get('name')!r} is not steps/values/timestamps lists",
                    "the metric is left out",
                )
                continue
            found[doc["name"]] = series
        return found

    def _file_entry(self, entries: Any, name: str) -> list | None:
        for entry in _entries(entries):
            if entry[0] == name:
                return entry
        return None

    def read_artifact(self, run_id: Any, name: str) -> bytes:
        entry = self._file_entry(self._doc(run_id).get("artifacts"), name)
        if entry is None:
            raise StoreError(f"Run {run_id} has no artifact {name!r}.")
        return self.reader.read_file(_md5(entry))

    def read_source(self, run_id: Any, name: str) -> bytes:
        experiment = self._doc(run_id).get("experiment")
        sources = experiment.get("sources") if isinstance(experiment, dict) else None
        entry = self._file_entry(sources, name)
        if entry is None:
            raise StoreError(f"Run {run_id} has no stored source {name!r}.")
        return self.reader.read_file(_md5(entry))

    def read_resource(self, run_id: Any, name: str) -> bytes:
        entry = self._file_entry(self._doc(run_id).get("resources"), name)
        if entry is None:
            raise StoreError(f"Run {run_id} has no stored resource {name!r}.")
        return self.reader.read_file(_md5(entry))

    def delete(self, run_id: Any) -> None:
        from tinydb import Query

        with self._locked():
            table, doc = self._located(run_id)
            self.metrics_table.remove(Query().run_id == str(run_id))
            table.remove(doc_ids=[doc.doc_id])

    # -- the trash and saved views ----------------------------------------------------

    def trash_run(self, run_id: Any, when: datetime.datetime) -> None:
        with self._locked():
            table, doc = self._located(run_id)
            table.update({TRASHED: when}, doc_ids=[doc.doc_id])

    def restore_run(self, run_id: Any) -> None:
        from tinydb.operations import delete

        with self._locked():
            table, doc = self._located(run_id, trashed=True)
            table.update(delete(TRASHED), doc_ids=[doc.doc_id])

    def trashed_runs(self) -> list[dict]:
        found = []
        for _, doc in self.reader.located(trashed=True):
            experiment = doc.get("experiment")
            when = doc.get(TRASHED)
            found.append(
                {
                    "id": doc.get("_id"),
                    "experiment": experiment.get("name") if isinstance(experiment, dict) else None,
                    "trashed_at": when if isinstance(when, datetime.datetime) else None,
                }
            )
        return found

    def purge_trashed(self, run_id: Any) -> None:
        from tinydb import Query

        with self._locked():
            table, doc = self._located(run_id, trashed=True)
            self.metrics_table.remove(Query().run_id == str(run_id))
            table.remove(doc_ids=[doc.doc_id])

    def saved_views(self) -> dict[str, dict]:
        from sacred.observers.tinydb_hashfs.observer import fresh_table

        views = fresh_table(self.db, VIEWS_TABLE).all()
        return {
            v["name"]: v["state"]
            for v in views
            if isinstance(v.get("name"), str) and isinstance(v.get("state"), dict)
        }

    def write_view(self, name: str, state: dict | None) -> None:
        from tinydb import Query

        from sacred.observers.tinydb_hashfs.observer import fresh_table

        with self._locked():
            table = fresh_table(self.db, VIEWS_TABLE)
            table.remove(Query().name == name)
            if state is not None:
                table.insert({"name": name, "state": state})

    def set_tags(self, run_id: Any, tags: list[str]) -> None:
        with self._locked():
            table, doc = self._located(run_id)
            table.update({"tags": list(tags)}, doc_ids=[doc.doc_id])

    def set_note(self, run_id: Any, note: str) -> None:
        with self._locked():
            table, doc = self._located(run_id)
            table.update({"note": note}, doc_ids=[doc.doc_id])

    def close(self) -> None:
        self.reader.close()


# -- the summary report ------------------------------------------------------------------


def _duration(entry: dict) -> str:
    start, stop = entry.get("start_time"), entry.get("stop_time")
    if not isinstance(start, datetime.datetime) or not isinstance(stop, datetime.datetime):
        return "unknown"
    seconds = (stop - start).total_seconds()
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{int(hours)}:{int(minutes)}:{seconds:.1f}"


def _block(lines: list[str]) -> str:
    return "\n".join("    " + line for line in lines) if lines else "    None"


def _report(entry: dict) -> str:
    start = entry.get("start_time")
    date = start.strftime("%a %d %b %Y") if isinstance(start, datetime.datetime) else "unknown"
    config = entry.get("config")
    config = config if isinstance(config, dict) else {}
    experiment = entry.get("experiment")
    experiment = experiment if isinstance(experiment, dict) else {}
    parameters = [f"{k}: {v}" for k, v in sorted(config.items())]
    result = entry.get("result")
    dependencies = experiment.get("dependencies")
    dependencies = [str(d) for d in dependencies] if isinstance(dependencies, list) else []
    rule = "-" * 49
    return textwrap.dedent("""\
        {rule}
        Experiment: {name}
        {rule}
        ID: {id}
        Date: {date}    Duration: {duration}

        Parameters:
        {parameters}

        Result:
        {result}

        Dependencies:
        {dependencies}

        Resources:
        {resources}

        Source Files:
        {sources}

        Outputs:
        {outputs}
        """).format(
        rule=rule,
        name=experiment.get("name"),
        id=entry.get("_id"),
        date=date,
        duration=_duration(entry),
        parameters=_block(parameters),
        result=_block([str(result)] if result is not None else []),
        dependencies=_block(dependencies),
        resources=_block([r[0] for r in _entries(entry.get("resources"))]),
        sources=_block([s[0] for s in _entries(experiment.get("sources"))]),
        outputs=_block([a[0] for a in _entries(entry.get("artifacts"))]),
    )
