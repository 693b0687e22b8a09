"""Reading the original sacred's (0.8.7) SQL layout, for ``sacred.store`` and migration.

The original's SqlObserver wrote these tables (singular names, so they never clash
with ours)::

    run(id, run_id UNIQUE, command, start_time, heartbeat, stop_time, queue_time,
        priority, comment, fail_trace TEXT, captured_out, config TEXT, info TEXT,
        status, host_id, experiment_id, result FLOAT)
    experiment(experiment_id, name, md5sum, base_dir)
    host(host_id, cpu, hostname, os, os_info, python_version)
    source(source_id, filename, md5sum, content TEXT)      experiments_sources
    dependency(dependency_id, name, version)               experiments_dependencies
    repository(repository_id, url, commit, dirty)          experiments_repositories
    resource(resource_id, filename, md5sum, content)       runs_resources(run_id -> run.run_id)
    artifact(artifact_id, filename, content, run_id -> run.run_id)

It stores no metrics, no meta (only priority and comment), no tags or notes.
Records are shaped as our SQL reader shapes them:

* ``_id`` is ``run.run_id``, an int when it is a string of digits (as our ids are);
* ``config`` and ``info`` are the JSON texts parsed, with NaN and infinities as the
  strings "NaN", "Infinity", "-Infinity" (as our SQL layout keeps them);
* ``fail_trace``: the original joined the trace's lines (each ending in a newline)
  with newlines; they are split back at the empty lines this makes;
* ``meta`` holds ``command`` and, when stored, ``priority`` and ``comment``;
* ``host.os`` is ``[os, os_info]``, as the other stores record it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from sacred.exceptions import StoreError
from sacred.store.base import StoreBackend

__all__ = ["LegacySqlReader", "split_fail_trace", "legacy_tables"]


def split_fail_trace(text: str | None) -> list[str] | None:
    """The trace's lines as the original held them before joining them with newlines."""
    if text is None:
        return None
    if not text:
        return []
    parts = text.split("\n\n")
    return [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def _json(text: str | None, default: Any) -> Any:
    from sacred.observers.sql.json_values import to_json_value

    if text is None or text == "":
        return default
    return to_json_value(json.loads(text))


def _run_id(value: Any) -> Any:
    return int(value) if isinstance(value, str) and value.isdigit() else value


def legacy_tables() -> dict[str, Any]:
    """Lightweight table objects for the original's layout."""
    import sqlalchemy as sa

    def table(name: str, *columns: str) -> Any:
        return sa.table(name, *(sa.column(c) for c in columns))

    return {
        "run": table(
            "run",
            "id",
            "run_id",
            "command",
            "start_time",
            "heartbeat",
            "stop_time",
            "queue_time",
            "priority",
            "comment",
            "fail_trace",
            "captured_out",
            "config",
            "info",
            "status",
            "host_id",
            "experiment_id",
            "result",
        ),
        "experiment": table("experiment", "experiment_id", "name", "md5sum", "base_dir"),
        "host": table("host", "host_id", "cpu", "hostname", "os", "os_info", "python_version"),
        "source": table("source", "source_id", "filename", "md5sum", "content"),
        "experiments_sources": table("experiments_sources", "experiment_id", "source_id"),
        "dependency": table("dependency", "dependency_id", "name", "version"),
        "experiments_dependencies": table(
            "experiments_dependencies", "experiment_id", "dependency_id"
        ),
        "repository": table("repository", "repository_id", "url", "commit", "dirty"),
        "experiments_repositories": table(
            "experiments_repositories", "experiment_id", "repository_id"
        ),
        "resource": table("resource", "resource_id", "filename", "md5sum", "content"),
        "runs_resources": table("runs_resources", "run_id", "resource_id"),
        "artifact": table("artifact", "artifact_id", "filename", "content", "run_id"),
    }


class LegacySqlReader(StoreBackend):
    """``sacred.store`` over a database in the original's layout (read; delete)."""

    def __init__(self, url: str, engine: Any) -> None:
        import sqlalchemy as sa

        self.sa = sa
        self.url = url
        self.engine = engine
        self.t = legacy_tables()
        self._names = set(sa.inspect(engine).get_table_names())

    def _has(self, table: str) -> bool:
        return table in self._names

    def _experiments(self, conn: Any, ids: set) -> dict[Any, dict]:
        sa, t = self.sa, self.t
        experiments: dict[Any, dict] = {}
        if not ids or not self._has("experiment"):
            return experiments
        e = t["experiment"]
        for experiment_id, name, base_dir in conn.execute(
            sa.select(e.c.experiment_id, e.c.name, e.c.base_dir).where(e.c.experiment_id.in_(ids))
        ):
            experiments[experiment_id] = {
                "name": name,
                "doc": None,
                "base_dir": base_dir,
                "mainfile": None,
                "repositories": [],
                "sources": [],
                "dependencies": [],
            }
        if self._has("experiments_sources") and self._has("source"):
            links, source = t["experiments_sources"], t["source"]
            for experiment_id, filename, md5 in conn.execute(
                sa.select(links.c.experiment_id, source.c.filename, source.c.md5sum)
                .join(source, source.c.source_id == links.c.source_id)
                .where(links.c.experiment_id.in_(ids))
            ):
                experiments[experiment_id]["sources"].append([filename, md5])
        if self._has("experiments_dependencies") and self._has("dependency"):
            links, dep = t["experiments_dependencies"], t["dependency"]
            for experiment_id, name, version in conn.execute(
                sa.select(links.c.experiment_id, dep.c.name, dep.c.version)
                .join(dep, dep.c.dependency_id == links.c.dependency_id)
                .where(links.c.experiment_id.in_(ids))
            ):
                experiments[experiment_id]["dependencies"].append(f"{name}=={version}")
        if self._has("experiments_repositories") and self._has("repository"):
            links, repo = t["experiments_repositories"], t["repository"]
            for experiment_id, url, commit, dirty in conn.execute(
                sa.select(links.c.experiment_id, repo.c.url, repo.c.commit, repo.c.dirty)
                .join(repo, repo.c.repository_id == links.c.repository_id)
                .where(links.c.experiment_id.in_(ids))
            ):
                experiments[experiment_id]["repositories"].append(
                    {"url": url, "commit": commit, "dirty": bool(dirty)}
                )
        for experiment in experiments.values():
            experiment["sources"].sort()
            experiment["dependencies"].sort()
        return experiments

    def _hosts(self, conn: Any, ids: set) -> dict[Any, dict]:
        sa = self.sa
        h = self.t["host"]
        hosts: dict[Any, dict] = {}
        if not ids or not self._has("host"):
            return hosts
        for host_id, cpu, hostname, os_name, os_info, python_version in conn.execute(
            sa.select(
                h.c.host_id, h.c.cpu, h.c.hostname, h.c.os, h.c.os_info, h.c.python_version
            ).where(h.c.host_id.in_(ids))
        ):
            host = {
                "hostname": hostname,
                "os": [os_name, os_info],
                "cpu": cpu,
                "python_version": python_version,
            }
            hosts[host_id] = {k: v for k, v in host.items() if v is not None}
        return hosts

    def _records(self, conn: Any, where: Any = None) -> list[dict]:
        sa, t = self.sa, self.t
        run = t["run"]
        statement = sa.select(*run.c).order_by(run.c.id)
        if where is not None:
            statement = statement.where(where)
        rows = [row._mapping for row in conn.execute(statement)]
        experiments = self._experiments(conn, {r["experiment_id"] for r in rows} - {None})
        hosts = self._hosts(conn, {r["host_id"] for r in rows} - {None})
        records = []
        by_run_id: dict[str, dict] = {}
        for row in rows:
            meta = {"command": row["command"]}
            if row["priority"] is not None:
                meta["priority"] = row["priority"]
            if row["comment"] is not None:
                meta["comment"] = row["comment"]
            experiment = experiments.get(row["experiment_id"])
            record = {
                "_id": _run_id(row["run_id"]),
                "status": row["status"],
                "command": row["command"],
                "start_time": _time(row["start_time"]),
                "stop_time": _time(row["stop_time"]),
                "heartbeat": _time(row["heartbeat"]),
                "queue_time": _time(row["queue_time"]),
                "config": _json(row["config"], {}),
                "info": _json(row["info"], {}),
                "meta": meta,
                "result": row["result"],
                "fail_trace": split_fail_trace(row["fail_trace"]),
                "tags": [],
                "note": None,
                "host": dict(hosts.get(row["host_id"], {})),
                "experiment": _copy(experiment) if experiment else _no_experiment(),
                "resources": [],
                "artifacts": [],
                "captured_out": row["captured_out"] or "",
            }
            if record["queue_time"] is None:
                record.pop("queue_time")
            records.append(record)
            by_run_id[str(row["run_id"])] = record
        if not by_run_id:
            return records
        run_ids = list(by_run_id)
        if self._has("runs_resources") and self._has("resource"):
            links, resource = t["runs_resources"], t["resource"]
            for run_id, filename, md5 in conn.execute(
                sa.select(links.c.run_id, resource.c.filename, resource.c.md5sum)
                .join(resource, resource.c.resource_id == links.c.resource_id)
                .where(links.c.run_id.in_(run_ids))
            ):
                by_run_id[str(run_id)]["resources"].append([filename, md5])
        if self._has("artifact"):
            a = t["artifact"]
            for run_id, filename in conn.execute(
                sa.select(a.c.run_id, a.c.filename)
                .where(a.c.run_id.in_(run_ids))
                .order_by(a.c.artifact_id)
            ):
                names = by_run_id[str(run_id)]["artifacts"]
                if filename not in names:
                    names.append(filename)
        return records

    def _legacy_run_id(self, conn: Any, run_id: Any) -> str:
        run = self.t["run"]
        found = conn.execute(
            self.sa.select(run.c.run_id).where(run.c.run_id == str(run_id))
        ).scalar()
        if found is None:
            raise StoreError(f"No run with id {run_id!r} in the SQL store {self.url}.")
        return found

    # -- the reader interface ------------------------------------------------------------

    def iter_records(self) -> Iterator[dict]:
        with self.engine.connect() as conn:
            records = self._records(conn)
        yield from records

    def get_record(self, run_id: Any) -> dict | None:
        with self.engine.connect() as conn:
            records = self._records(conn, self.t["run"].c.run_id == str(run_id))
        return records[0] if records else None

    def captured_out(self, run_id: Any) -> str:
        run = self.t["run"]
        with self.engine.connect() as conn:
            legacy_id = self._legacy_run_id(conn, run_id)
            text = conn.execute(
                self.sa.select(run.c.captured_out).where(run.c.run_id == legacy_id)
            ).scalar()
        return text or ""

    def metrics(self, run_id: Any, names: Iterable[str] | None = None) -> dict[str, dict]:
        return {}  # the original's SQL layout stores no metrics

    def metric_names(self, run_id: Any) -> list[str]:
        return []

    def read_artifact(self, run_id: Any, name: str) -> bytes:
        a = self.t["artifact"]
        with self.engine.connect() as conn:
            legacy_id = self._legacy_run_id(conn, run_id)
            content = conn.execute(
                self.sa.select(a.c.content)
                .where(a.c.run_id == legacy_id, a.c.filename == name)
                .order_by(a.c.artifact_id.desc())
            ).first()
        if content is None:
            raise StoreError(f"Run {run_id} has no artifact {name!r}.")
        return _bytes(content[0])

    def read_source(self, run_id: Any, name: str) -> bytes:
        sa, t = self.sa, self.t
        run, links, source = t["run"], t["experiments_sources"], t["source"]
        with self.engine.connect() as conn:
            legacy_id = self._legacy_run_id(conn, run_id)
            content = conn.execute(
                sa.select(source.c.content)
                .join(links, links.c.source_id == source.c.source_id)
                .join(run, run.c.experiment_id == links.c.experiment_id)
                .where(run.c.run_id == legacy_id, source.c.filename == name)
            ).first()
        if content is None:
            raise StoreError(f"Run {run_id} has no stored source {name!r}.")
        return _bytes(content[0])

    def delete(self, run_id: Any) -> None:
        t = self.t
        with self.engine.begin() as conn:
            legacy_id = self._legacy_run_id(conn, run_id)
            for table in ("artifact", "runs_resources"):
                if self._has(table):
                    conn.execute(t[table].delete().where(t[table].c.run_id == legacy_id))
            conn.execute(t["run"].delete().where(t["run"].c.run_id == legacy_id))

    def _no_place(self, what: str) -> StoreError:
        return StoreError(
            f"{self.url} is in the layout of the original sacred 0.8.7, which has no place "
            f"for {what}. Convert it with `sacred migrate {self.url}` first (the original "
            "tables are kept)."
        )

    def trash_run(self, run_id: Any, when: Any) -> None:
        raise self._no_place("a trash (or delete for good: sacred delete --purge)")

    def set_tags(self, run_id: Any, tags: list[str]) -> None:
        raise self._no_place("tags")

    def set_note(self, run_id: Any, note: str) -> None:
        raise self._no_place("notes")

    def close(self) -> None:
        self.engine.dispose()


def _time(value: Any) -> Any:
    """SQLite hands the original's DATETIME columns over as text when read through
    lightweight tables; make them datetimes like every other reader's."""
    import datetime

    if isinstance(value, str):
        return datetime.datetime.fromisoformat(value)
    return value


def _bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, str):
        return value.encode("utf-8")
    return bytes(value)


def _copy(experiment: dict) -> dict:
    return {
        **experiment,
        "sources": [list(s) for s in experiment["sources"]],
        "dependencies": list(experiment["dependencies"]),
        "repositories": [dict(r) for r in experiment["repositories"]],
    }


def _no_experiment() -> dict:
    return {
        "name": None,
        "doc": None,
        "base_dir": None,
        "mainfile": None,
        "repositories": [],
        "sources": [],
        "dependencies": [],
    }
