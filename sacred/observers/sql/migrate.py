"""``sacred migrate URL [--to URL2] [--drop-legacy]``: bring a database to sacred's
current SQL layout.

* A database in the original's layout (sacred 0.8.7: ``run``, ``experiment``, ``host``
  …) is converted into ours, in the same database (the table names do not clash) or
  into the database ``--to`` names. Every run keeps its id, status, times, config,
  info, result, trace, captured output, host, experiment with sources and
  dependencies, resources and artifacts with their contents (that layout has no
  metrics). It is done once: a target already holding runs in our layout is refused.
  The original tables are kept (older sacred versions, or other tools such as
  Omniboard's SQL support, may still read them) unless ``--drop-legacy`` is given.
* A database in an older schema version of ours is migrated to the newest one
  (versioning.py); ``--to`` is not supported for it.

The conversion itself is one transaction on the target, under the schema lock
(locking.py), so two migrations at once cannot both write.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from sacred.exceptions import StoreError

__all__ = ["migrate", "run_cli", "add_arguments"]


def _engine(url: str, must_exist: bool = True) -> Any:
    """An engine on a database that is there and readable as one (StoreError in one
    line otherwise: a migration never creates the database it is asked to convert)."""
    import os

    import sqlalchemy as sa

    from sacred.observers.sql.urls import driver_url, engine_options

    try:
        parsed = sa.engine.make_url(driver_url(url))
    except Exception as exc:
        raise StoreError(
            f"Cannot open the database {url!r}: {_first_line(exc)}. Give a database URL "
            "such as sqlite:///runs.db or postgresql://user@host/db."
        ) from None
    path = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if must_exist and path and path != ":memory:" and not os.path.isfile(path):
        raise StoreError(f"Cannot open the database {url!r}: there is no file {path!r}.")
    try:
        engine = sa.create_engine(parsed, **engine_options(url))
        _table_names(engine)  # reads the schema: a file that is no database fails here
    except Exception as exc:
        raise StoreError(f"Cannot open the database {url!r}: {_first_line(exc)}.") from None
    return engine


def _first_line(exc: BaseException) -> str:
    """The driver's own message without SQLAlchemy's SQL echo and help link."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0].rstrip(".") if text else type(exc).__name__


def _table_names(engine: Any) -> set[str]:
    import sqlalchemy as sa

    return set(sa.inspect(engine).get_table_names())


def migrate(url: str, to: str | None = None, drop_legacy: bool = False) -> str:
    """Migrate the database at ``url`` (see the module docstring); a one-line summary
    of what was done. StoreError when there is nothing to do or it must not be done."""
    from sacred.observers.sql.versioning import (
        LEGACY_TABLES,
        SchemaVersionError,
        head_revision,
        read_state,
        upgrade_schema,
    )

    source = _engine(url)
    try:
        with source.connect() as conn:
            state = read_state(conn)
        has_legacy = LEGACY_TABLES <= _table_names(source)
        if state.kind in ("old", "unversioned", "newer"):
            if to is not None:
                raise StoreError(
                    f"{url} holds sacred's own tables (schema version {state.revision}); they "
                    f"are migrated in place: run `sacred migrate {url}` without --to."
                )
            try:
                upgrade_schema(source)
            except SchemaVersionError as exc:
                raise StoreError(str(exc)) from None
            return f"Migrated {url} from schema version {state.revision} to {head_revision()}."
        if not has_legacy:
            if state.kind == "current":
                raise StoreError(
                    f"{url} already uses sacred's current SQL layout (schema version "
                    f"{head_revision()}): nothing to migrate."
                )
            raise StoreError(
                f"{url} holds no sacred runs (neither the original's 'run' table nor sacred's "
                "'runs' table): nothing to migrate. Check the URL."
            )
        target = source if to is None else _engine(to, must_exist=False)
        try:
            count = _convert(url, source, to or url, target)
        finally:
            if target is not source:
                target.dispose()
        if drop_legacy:
            _drop_legacy(source)
        kept = "dropped" if drop_legacy else "kept (drop them with --drop-legacy)"
        return (
            f"Migrated {count} run(s) from the original's layout in {url} into sacred's "
            f"layout in {to or url}; the original tables were {kept}."
        )
    finally:
        source.dispose()


def _convert(url: str, source: Any, target_url: str, target: Any) -> int:
    import sqlalchemy as sa

    from sacred.observers.sql.legacy import LegacySqlReader
    from sacred.observers.sql.locking import schema_lock
    from sacred.observers.sql.schema import get_tables
    from sacred.observers.sql.versioning import SchemaVersionError, ensure_schema

    try:
        ensure_schema(target, allow_legacy=True)
    except SchemaVersionError as exc:
        raise StoreError(str(exc)) from None
    reader = LegacySqlReader(url, source)
    # Everything is read before the lock: on SQLite, reading the database through a
    # second connection while the lock's connection writes could wait on itself.
    records = list(reader.iter_records())
    contents = _LegacyContents(
        sources=_legacy_blobs(reader, "source", "md5sum", "content"),
        resources=_legacy_blobs(reader, "resource", "md5sum", "content"),
        artifacts={
            (str(r["_id"]), name): reader.read_artifact(r["_id"], name)
            for r in records
            for name in r["artifacts"]
        },
    )
    runs = get_tables()["runs"]
    with schema_lock(target) as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(runs)).scalar()
        if stored:
            raise StoreError(
                f"{target_url} already holds {stored} run(s) in sacred's layout"
                + (" (was it migrated before?)" if target is source else "")
                + ": `sacred migrate` only writes into a database without runs, so that "
                "no run is stored twice or overwritten. Give an empty database with --to URL."
            )
        _LegacyWriter(conn, contents).write(records)
    return len(records)


def _drop_legacy(engine: Any) -> None:
    import sqlalchemy as sa

    # Link tables first: they refer to the others.
    order = [
        "runs_resources",
        "artifact",
        "experiments_sources",
        "experiments_dependencies",
        "experiments_repositories",
        "run",
        "experiment",
        "host",
        "source",
        "dependency",
        "repository",
        "resource",
    ]
    names = _table_names(engine)
    with engine.begin() as conn:
        for table in order:
            if table in names:
                conn.execute(sa.text(f"DROP TABLE {conn.dialect.identifier_preparer.quote(table)}"))


@dataclass
class _LegacyContents:
    sources: dict  # md5 -> content
    resources: dict  # md5 -> content
    artifacts: dict  # (str(run id), name) -> content


def _legacy_blobs(reader: Any, table: str, key: str, wanted: str) -> dict[Any, Any]:
    import sqlalchemy as sa

    if table not in _table_names(reader.engine):
        return {}
    t = reader.t[table]
    with reader.engine.connect() as conn:
        return dict(conn.execute(sa.select(t.c[key], t.c[wanted])).all())


class _LegacyWriter:
    """Writes the legacy reader's records into our tables on one connection."""

    def __init__(self, conn: Any, contents: _LegacyContents) -> None:
        from sacred.observers.sql.schema import get_tables

        self.conn = conn
        self.contents = contents
        self.t = get_tables()

    def _get_or_create(self, table: str, unique: dict, values: dict) -> int:
        import sqlalchemy as sa

        t = self.t[table]
        where = sa.and_(*[t.c[k] == v for k, v in unique.items()])
        found = self.conn.execute(sa.select(t.c.id).where(where)).scalar()
        if found is not None:
            return found
        return self.conn.execute(t.insert().values(**unique, **values)).inserted_primary_key[0]

    def _experiment(self, experiment: dict) -> int:
        import os

        import sqlalchemy as sa

        from sacred.observers.sql.observer import experiment_digest

        digest = experiment_digest(experiment)
        t = self.t
        found = self.conn.execute(
            sa.select(t["experiments"].c.id).where(t["experiments"].c.digest == digest)
        ).scalar()
        if found is not None:
            return found
        experiment_id = self.conn.execute(
            t["experiments"]
            .insert()
            .values(
                name=experiment.get("name") or "",
                doc=experiment.get("doc"),
                base_dir=experiment.get("base_dir"),
                mainfile=experiment.get("mainfile"),
                repositories=experiment.get("repositories") or [],
                digest=digest,
            )
        ).inserted_primary_key[0]
        base_dir = experiment.get("base_dir") or ""
        for name, md5 in experiment.get("sources", []):
            content = self.contents.sources.get(md5)
            source_id = self._get_or_create(
                "sources",
                {"md5": md5},
                {
                    "filename": name if os.path.isabs(name) else os.path.join(base_dir, name),
                    "content": None if content is None else _as_bytes(content),
                },
            )
            self.conn.execute(
                t["experiment_sources"]
                .insert()
                .values(experiment_id=experiment_id, source_id=source_id, name=name)
            )
        for dep in experiment.get("dependencies", []):
            name, _, version = dep.partition("==")
            dep_id = self._get_or_create("dependencies", {"name": name, "version": version}, {})
            self.conn.execute(
                t["experiment_dependencies"]
                .insert()
                .values(experiment_id=experiment_id, dependency_id=dep_id)
            )
        return experiment_id

    def _host(self, host: dict) -> int | None:
        from sacred.observers.sql.observer import _digest

        if not host:
            return None
        return self._get_or_create(
            "hosts",
            {"digest": _digest(host)},
            {
                "hostname": host.get("hostname"),
                "os": host.get("os"),
                "cpu": host.get("cpu"),
                "python_version": host.get("python_version"),
                "gpu": None,
                "env": None,
                "info": {},
            },
        )

    def write(self, records: list[dict]) -> None:
        from sacred.observers.sql.observer import advance_run_ids, keep_zero_ids

        conn, t = self.conn, self.t
        keep_zero_ids(conn)  # the original's first run has the id 0
        # Ids that are numbers first, so that the others' automatic ids come after them.
        ordered = sorted(records, key=lambda r: not isinstance(r["_id"], int))
        for record in ordered:
            experiment = record["experiment"]
            values = {
                "experiment_id": self._experiment(experiment)
                if experiment.get("name") is not None
                else None,
                "host_id": self._host(record["host"]),
                "command": record["command"],
                "status": record["status"],
                "start_time": record["start_time"],
                "heartbeat": record["heartbeat"],
                "stop_time": record["stop_time"],
                "queue_time": record.get("queue_time"),
                "config": record["config"],
                "info": record["info"],
                "meta": record["meta"],
                "result": record["result"],
                "captured_out": record["captured_out"],
                "fail_trace": record["fail_trace"],
                "priority": record["meta"].get("priority"),
                "comment": record["meta"].get("comment"),
                "tags": [],
                "note": None,
            }
            if isinstance(record["_id"], int):
                values["id"] = record["_id"]
            else:
                values["run_uid"] = str(record["_id"])
            run_id = conn.execute(t["runs"].insert().values(**values)).inserted_primary_key[0]
            for filename, md5 in record["resources"]:
                resource_id = self._get_or_create(
                    "resources",
                    {"md5": md5},
                    {"filename": filename, "content": _as_bytes(self.contents.resources.get(md5))},
                )
                conn.execute(
                    t["run_resources"]
                    .insert()
                    .values(run_id=run_id, resource_id=resource_id, filename=filename)
                )
            for name in record["artifacts"]:
                conn.execute(
                    t["artifacts"]
                    .insert()
                    .values(
                        run_id=run_id,
                        name=name,
                        filename=name,
                        content=self.contents.artifacts[(str(record["_id"]), name)],
                    )
                )
        advance_run_ids(conn)


def _as_bytes(value: Any) -> bytes | None:
    if value is None:
        return None
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``sacred migrate``."""
    parser.add_argument("url", metavar="URL", help="the database to migrate (an SQLAlchemy URL)")
    parser.add_argument(
        "--to",
        metavar="URL2",
        help="write the converted runs into this (empty) database instead of URL",
    )
    parser.add_argument(
        "--drop-legacy",
        action="store_true",
        help="drop the original's tables after converting them (kept by default)",
    )


def run_cli(args: argparse.Namespace) -> int:
    """``sacred migrate``: prints what was done; exit status 0, or 1 with the reason."""
    try:
        print(migrate(args.url, to=args.to, drop_legacy=args.drop_legacy))
    except StoreError as exc:
        print(f"sacred migrate: error: {exc}", file=sys.stderr)
        return 1
    return 0
