"""The normalized SQL schema of the SqlObserver (SQLite, PostgreSQL, MariaDB/MySQL).

This is the newest schema version; changing it means a new migration in
migrations/versions/ and a new entry in versioning.REVISIONS (a test compares the
migrated schema with this one).

Tables::

    experiments(id, name, doc, base_dir, mainfile, repositories JSON, digest UNIQUE)
    sources(id, filename, md5 UNIQUE, content)          experiment_sources(id,
                                                           experiment_id, source_id, name)
    dependencies(id, name, version, UNIQUE(name, version))
                                                         experiment_dependencies(experiment_id,
                                                           dependency_id)
    hosts(id, hostname, os JSON, cpu, python_version, gpu JSON, env JSON, info JSON,
          digest UNIQUE)
    runs(id, run_uid, experiment_id, host_id, command, status, start_time, heartbeat,
         stop_time, queue_time, config JSON, info JSON, meta JSON, result JSON,
         captured_out, fail_trace JSON, priority, comment, tags JSON, note)
    sacred_trash(run_id PRIMARY KEY -> runs.id, trashed_at)   runs in the trash
    sacred_views(name PRIMARY KEY, state JSON, saved_at)      saved board views
    resources(id, filename, md5 UNIQUE, content)         run_resources(run_id, resource_id,
                                                           filename)
    artifacts(id, run_id, name, filename, content, content_type, metadata JSON)
    metric_chunks(id, run_id, name, points, first_step, last_step, steps BLOB, vals BLOB,
                  times BLOB), INDEX(run_id, name, id)
    metric_summaries(run_id, name, points, last_step, last_value, min_value, max_value),
                  PRIMARY KEY(run_id, name), INDEX(name, <stat>_value, run_id) per stat
    SQLite only: INDEX ix_runs_result_value ON runs(json_extract(result, '$'), id,
                  json_type(result, '$'))   (SORT_INDEXES)
    sacred_schema_version(version_num)   the schema version (versioning.py)

JSON columns are JSONB on PostgreSQL, JSON on MariaDB/MySQL and TEXT holding JSON on
SQLite, so that queries can be pushed down with the database's JSON functions. (A
column declared JSON has NUMERIC affinity in SQLite, which turns the text ``10.0``
into the integer 10: a result of 10.0 read back as an int.) Times are UTC without time zone,
with microseconds (DATETIME(6) on MariaDB). Metric points are packed arrays, one row
per metric and heartbeat batch (see metric_chunks.py).
``runs.run_uid`` holds an id given by an earlier observer or ``--id`` when it is not
a non-negative integer. JSON values that are NaN or infinite are stored as the
strings "NaN", "Infinity", "-Infinity" (strict JSON everywhere).
"""

from __future__ import annotations

from typing import Any

__all__ = ["get_tables", "create_sort_indexes", "sqlite_json_text", "live"]

_TABLES: dict[str, Any] | None = None


def get_tables() -> dict[str, Any]:
    """The sqlalchemy Table objects by name (built on first use: sqlalchemy is optional)."""
    global _TABLES
    if _TABLES is not None:
        return _TABLES
    import sqlalchemy as sa
    from sqlalchemy.dialects import mysql, postgresql

    json = (
        sa.JSON()
        .with_variant(postgresql.JSONB(), "postgresql")
        .with_variant(sqlite_json_text(), "sqlite")
    )
    text = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
    blob = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
    time = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
    metadata = sa.MetaData()

    def ref(table: str, **kw: Any) -> sa.ForeignKey:
        return sa.ForeignKey(f"{table}.id", ondelete="CASCADE", **kw)

    tables: dict[str, Any] = {}
    tables["experiments"] = sa.Table(
        "experiments",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("doc", text),
        sa.Column("base_dir", sa.String(1024)),
        sa.Column("mainfile", sa.String(1024)),
        sa.Column("repositories", json),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
    )
    tables["sources"] = sa.Table(
        "sources",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("filename", sa.String(1024)),
        sa.Column("md5", sa.String(32), nullable=False, unique=True),
        sa.Column("content", blob),
    )
    # Its own id: two source files with the same content (two empty __init__.py) share
    # one ``sources`` row but are two links.
    tables["experiment_sources"] = sa.Table(
        "experiment_sources",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("experiment_id", sa.Integer, ref("experiments"), nullable=False, index=True),
        sa.Column("source_id", sa.Integer, ref("sources"), nullable=False),
        sa.Column("name", sa.String(1024)),
    )
    tables["dependencies"] = sa.Table(
        "dependencies",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("version", sa.String(255), nullable=False),
        sa.UniqueConstraint("name", "version"),
    )
    tables["experiment_dependencies"] = sa.Table(
        "experiment_dependencies",
        metadata,
        sa.Column("experiment_id", sa.Integer, ref("experiments"), primary_key=True),
        sa.Column("dependency_id", sa.Integer, ref("dependencies"), primary_key=True),
    )
    tables["hosts"] = sa.Table(
        "hosts",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("hostname", sa.String(255)),
        sa.Column("os", json),
        sa.Column("cpu", sa.String(255)),
        sa.Column("python_version", sa.String(64)),
        sa.Column("gpu", json),
        sa.Column("env", json),
        sa.Column("info", json),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
    )
    tables["runs"] = sa.Table(
        "runs",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_uid", sa.String(255), unique=True),
        # Indexed: the board's columns, sorted by reading an index (pages.py).
        sa.Column("experiment_id", sa.Integer, ref("experiments"), index=True),
        sa.Column("host_id", sa.Integer, ref("hosts"), index=True),
        sa.Column("command", sa.String(255), index=True),
        sa.Column("status", sa.String(32), index=True),
        sa.Column("start_time", time, index=True),
        sa.Column("heartbeat", time, index=True),
        sa.Column("stop_time", time, index=True),
        sa.Column("queue_time", time),
        sa.Column("config", json),
        sa.Column("info", json),
        sa.Column("meta", json),
        sa.Column("result", json),
        sa.Column("captured_out", text),
        sa.Column("fail_trace", json),
        sa.Column("priority", sa.Double),
        sa.Column("comment", text),
        sa.Column("tags", json),
        sa.Column("note", text),
    )
    tables["resources"] = sa.Table(
        "resources",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("filename", sa.String(1024)),
        sa.Column("md5", sa.String(32), nullable=False, unique=True),
        sa.Column("content", blob),
    )
    tables["run_resources"] = sa.Table(
        "run_resources",
        metadata,
        sa.Column("run_id", sa.Integer, ref("runs"), primary_key=True),
        sa.Column("resource_id", sa.Integer, ref("resources"), primary_key=True),
        sa.Column("filename", sa.String(1024)),
    )
    tables["artifacts"] = sa.Table(
        "artifacts",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, ref("runs"), index=True),
        sa.Column("name", sa.String(1024), nullable=False),
        sa.Column("filename", sa.String(1024)),
        sa.Column("content", blob),
        sa.Column("content_type", sa.String(255)),
        sa.Column("metadata", json),
    )
    # Points packed per metric and batch, see metric_chunks.py.
    tables["metric_chunks"] = sa.Table(
        "metric_chunks",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, ref("runs"), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("points", sa.Integer, nullable=False),
        sa.Column("first_step", sa.BigInteger, nullable=False),
        sa.Column("last_step", sa.BigInteger, nullable=False),
        sa.Column("steps", blob, nullable=False),
        sa.Column("vals", blob, nullable=False),
        sa.Column("times", blob, nullable=False),
        sa.Index("ix_metric_chunks_run_name", "run_id", "name", "id"),
    )
    # One row per run and metric, written with its points (summary_rows.py): what
    # a sort or filter by metrics.<name>.<stat> reads, each stat indexed by name.
    tables["metric_summaries"] = sa.Table(
        "metric_summaries",
        metadata,
        sa.Column("run_id", sa.Integer, ref("runs"), primary_key=True),
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("points", sa.Integer, nullable=False),
        sa.Column("last_step", sa.BigInteger, nullable=False),
        sa.Column("last_value", sa.Double),
        sa.Column("min_value", sa.Double),
        sa.Column("max_value", sa.Double),
        *[
            sa.Index(f"ix_metric_summaries_{stat}", "name", f"{stat}_value", "run_id")
            for stat in ("last", "min", "max")
        ],
    )
    # Runs in the trash (store.delete): their rows stay in runs (their ids are never
    # given again) and every query leaves them out (live() below).
    tables["sacred_trash"] = sa.Table(
        "sacred_trash",
        metadata,
        sa.Column("run_id", sa.Integer, ref("runs"), primary_key=True, autoincrement=False),
        sa.Column("trashed_at", time, nullable=False),
    )
    # Saved board views (store.save_view): the board's URL state under a name.
    tables["sacred_views"] = sa.Table(
        "sacred_views",
        metadata,
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("state", json, nullable=False),
        sa.Column("saved_at", time),
    )
    tables["__metadata__"] = metadata
    _TABLES = tables
    return tables


_SQLITE_JSON_TEXT: Any = None


def sqlite_json_text() -> Any:
    """SQLAlchemy's JSON type for SQLite, declared ``TEXT`` so that the column has TEXT
    affinity and stores the JSON text exactly as written (see the module docstring)."""
    global _SQLITE_JSON_TEXT
    if _SQLITE_JSON_TEXT is None:
        from sqlalchemy.dialects import sqlite
        from sqlalchemy.ext.compiler import compiles

        class SqliteJsonText(sqlite.JSON):
            pass

        @compiles(SqliteJsonText, "sqlite")
        def _text(type_: Any, compiler: Any, **kw: Any) -> str:
            return "TEXT"

        _SQLITE_JSON_TEXT = SqliteJsonText
    return _SQLITE_JSON_TEXT()


#: Indexes on expressions, created by migration 0004 and with every new database:
#: the JSON value of ``result``, the run id and the value's type, exactly as the query
#: translation writes them on SQLite (sqlquery.py). Why these three: a page sorted by
#: the result (then the id, for ties) reads the index in order, even where thousands
#: of runs share a value, and a count filtered by it reads the index alone, type
#: test included. PostgreSQL and MariaDB keep their tables unchanged
#: (docs/observers.md, *Sorting by JSON values*).
SORT_INDEXES = {
    "sqlite": {
        "ix_runs_result_value": (
            "CREATE INDEX IF NOT EXISTS ix_runs_result_value "
            "ON runs (json_extract(result, '$'), id, json_type(result, '$'))"
        ),
    },
}


def create_sort_indexes(conn: Any) -> None:
    """Create the expression indexes of SORT_INDEXES for conn's dialect."""
    for statement in SORT_INDEXES.get(conn.dialect.name, {}).values():
        conn.exec_driver_sql(statement)


def live(tables: dict[str, Any]) -> Any:
    """The condition of runs not in the trash: ``id NOT IN (SELECT run_id FROM
    sacred_trash)``. Not a column of runs: a condition on a column of the table makes
    SQLite read every row where a covering index answered a count (0.3 ms → 220 ms
    for 100,000 runs); the ids are in every index."""
    import sqlalchemy as sa

    return tables["runs"].c.id.not_in(sa.select(tables["sacred_trash"].c.run_id))
